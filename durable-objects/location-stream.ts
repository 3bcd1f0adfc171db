import { DurableObject } from "cloudflare:workers";
import { DEFAULT_RULES, type ActiveAlert, type EventsPage, type HourSummary, type IngestEvent, type LocationSummary, type LogEvent, type Rule, type ScoreWindow } from "../protocol";
import { CLOSE, SNAPSHOT_RECENT } from "../protocol/live";
import { isoString } from "../protocol/time";
import type { DeviceState, ReadingFact } from "../domain/projections";
import { decide, deviceWindows, rulesReplaced } from "../domain/rules";
import { hourlySeries, scoreWindowAt } from "../domain/window";
import { migrate } from "./migrations";
import { WriteMeter } from "./sql";
import { EventLog, readingEntry, readingFact, toLogEvent, type NewEntry } from "./location/event-log";
import { ProjectionStore } from "./location/projection-store";
import { ActionStore, type CommandState } from "./location/action-store";
import { actionEntries, deliveredEntry, rulesEntry } from "./location/actions";
import { LOCATION_MIGRATIONS } from "./location/schema";
import {
  LIVE_TAG,
  backlogFrames,
  broadcast,
  closeCodeFor,
  enablePingAutoResponse,
  sendFrame,
  type LiveAttachment,
} from "./location/live-sockets";
import { DIRECTORY_NAME } from "./directory";
import { publishSummary } from "./location/fleet-link";

export interface AppendResult {
  accepted: number;
  duplicates: number;
  head: number;
  /** SQLite rows this append was billed for (log + projections). */
  rowsWritten: number;
}

export interface RebuildResult {
  events: number;
  rowsWritten: number;
}

/** Writes since the object started: what `GET …/stats` reports to the benchmark. */
export interface WriteStats {
  appends: number;
  accepted: number;
  duplicates: number;
  rowsWritten: number;
}

interface Stores {
  log: EventLog;
  projections: ProjectionStore;
  actions: ActionStore;
}

export interface DeliveryResult {
  recorded: number;
  duplicates: number;
  unknown: string[];
}

/**
 * One location: its event log, the projections derived from it, the rules
 * that act on them, and the live sockets watching it. A thin shell over
 * EventLog, ProjectionStore, ActionStore and the socket helpers; the domain
 * rules live in domain/.
 *
 * Every change is one `commit`: entries appended, projections updated and
 * rules decided in one synchronous transaction, answered only once committed,
 * then one frame to every open socket.
 *
 * The location's name travels with every call, because an object addressed
 * with `idFromName` cannot read its own name back.
 */
export class LocationStream extends DurableObject<Env> {
  /**
   * The location's tables, created by its first write. Until then every read
   * answers "empty" without touching storage, so reading (or watching) a
   * location nobody wrote to creates nothing.
   */
  private stores: Stores | null = null;
  private readonly stats: WriteStats = { appends: 0, accepted: 0, duplicates: 0, rowsWritten: 0 };
  private registered = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const created = ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray().length > 0;
    if (created) this.open();
    enablePingAutoResponse(ctx);
  }

  /** Creates (or migrates) the schema and loads the stores; idempotent. */
  private open(): Stores {
    if (this.stores) return this.stores;
    const { storage } = this.ctx;
    migrate(storage, LOCATION_MIGRATIONS);
    this.registered = storage.sql.exec("SELECT 1 FROM meta WHERE key = 'registered'").toArray().length > 0;
    return (this.stores = {
      log: new EventLog(storage.sql),
      projections: new ProjectionStore(storage.sql),
      actions: new ActionStore(storage.sql),
    });
  }

  private get log(): EventLog {
    return this.open().log;
  }
  private get projections(): ProjectionStore {
    return this.open().projections;
  }
  private get actions(): ActionStore {
    return this.open().actions;
  }

  /**
   * Stores the events whose ids are new, updates the projections and lets the
   * rules decide on the devices heard. Duplicates (earlier in the log or in
   * this batch) cost nothing.
   */
  async append(location: string, events: IngestEvent[]): Promise<AppendResult> {
    const { stored, rowsWritten } = this.commit(location, (now, meter) => {
      const fresh = this.log.onlyNew(events);
      if (fresh.length === 0) return [];
      this.projections.apply(meter, fresh);
      const readings = fresh.map(readingEntry);
      const devices = new Set(fresh.map((e) => e.deviceId));
      return [...readings, ...this.decideFor(devices, now, this.log.head + 1 + readings.length)];
    });
    const accepted = stored.filter((e) => e.type === "reading").length;
    const result: AppendResult = { accepted, duplicates: events.length - accepted, head: this.log.head, rowsWritten };
    this.stats.appends++;
    this.stats.accepted += result.accepted;
    this.stats.duplicates += result.duplicates;
    this.stats.rowsWritten += rowsWritten;
    if (stored.length > 0 && !this.registered) await this.register(location);
    if (stored.length > 0) await this.publishToFleet(location);
    return result;
  }

  /**
   * Replaces the rule set: a `rules-set` entry, alerts of rules removed or
   * redefined are cleared (with their clear command), and every device heard
   * in the window is judged by the new rules at once.
   */
  setRules(location: string, rules: Rule[]): { rules: Rule[]; seq: number } {
    const previous = this.actions.rules;
    this.commit(location, (now) => {
      const seq = this.log.head + 1;
      const set = rulesEntry(rules, seq, now);
      const buckets = this.projections.windowBuckets(now);
      const windows = deviceWindows(buckets, now, new Set(buckets.flatMap((b) => [...b.devices.keys()])));
      const decided = decide(rules, this.actions.raised, windows, rulesReplaced(previous, rules));
      return [set, ...actionEntries(decided, seq + 1, now)];
    });
    return { rules: this.actions.rules, seq: this.actions.rulesSeq! };
  }

  /** Records what the bridge published; a repeated report changes nothing. */
  recordDeliveries(location: string, deliveries: { id: string; deliveredAt: number }[]): DeliveryResult {
    if (!this.stores) return { recorded: 0, duplicates: 0, unknown: deliveries.map((d) => d.id) };
    const result: DeliveryResult = { recorded: 0, duplicates: 0, unknown: [] };
    this.commit(location, () => {
      const entries: NewEntry[] = [];
      const seen = new Set<string>();
      for (const d of deliveries) {
        const command = this.actions.command(d.id);
        if (!command) result.unknown.push(d.id);
        else if (command.deliveredAt !== null || seen.has(d.id)) result.duplicates++;
        else {
          seen.add(d.id);
          entries.push(deliveredEntry(d.id, command.deviceId, this.log.head + 1 + entries.length, d.deliveredAt));
          result.recorded++;
        }
      }
      return entries;
    });
    return result;
  }

  summary(location: string): LocationSummary {
    if (!this.stores) return { location, head: 0, lastEventAt: null, window: scoreWindowAt([], Date.now()) };
    return {
      location,
      head: this.log.head,
      lastEventAt: this.log.lastRecordedAt === null ? null : isoString(this.log.lastRecordedAt),
      window: this.window(),
    };
  }

  hourly(from: number, to: number): HourSummary[] {
    if (!this.stores) return hourlySeries([], from, to);
    return this.projections.hourly(from, to);
  }

  events(after: number, limit: number): EventsPage {
    if (!this.stores) return { events: [], next: null };
    const events = this.log.range(after, limit);
    const last = events.at(-1)?.seq ?? after;
    return { events, next: last < this.log.head ? last : null };
  }

  devices(): DeviceState[] {
    if (!this.stores) return [];
    return this.projections.devices();
  }

  rules(): { rules: Rule[]; seq: number | null } {
    if (!this.stores) return { rules: DEFAULT_RULES, seq: null };
    return { rules: this.actions.rules, seq: this.actions.rulesSeq };
  }

  alerts(): { alerts: ActiveAlert[]; commands: CommandState[] } {
    if (!this.stores) return { alerts: [], commands: [] };
    return { alerts: this.actions.activeAlerts(), commands: this.actions.recentCommands(SNAPSHOT_RECENT) };
  }

  pendingCommands(after: number, limit: number): CommandState[] {
    if (!this.stores) return [];
    return this.actions.pending(after, limit);
  }

  writeStats(): WriteStats {
    return { ...this.stats };
  }

  /** Drops every projection and rebuilds it from the log, in one transaction. */
  rebuild(): RebuildResult {
    if (!this.stores) return { events: 0, rowsWritten: 0 };
    const meter = new WriteMeter(this.ctx.storage.sql);
    try {
      this.ctx.storage.transactionSync(() => {
        const readings = (function* (log: EventLog): Generator<ReadingFact> {
          for (const row of log.all()) {
            const fact = readingFact(row);
            if (fact) yield fact;
          }
        })(this.log);
        this.projections.rebuild(meter, readings);
        const entries = (function* (log: EventLog): Generator<LogEvent> {
          for (const row of log.all()) if (row.type !== "reading") yield toLogEvent(row);
        })(this.log);
        this.actions.rebuild(meter, entries);
      });
    } finally {
      // The caches follow what was committed (or rolled back).
      this.projections.forget();
      this.actions.load();
    }
    return { events: this.log.head, rowsWritten: meter.rowsWritten };
  }

  /** Projection rows, for tests comparing incremental and rebuilt state. */
  projectionRows(): Record<string, unknown[]> {
    if (!this.stores) return {};
    return { ...this.projections.dump(), ...this.actions.dump() };
  }

  /**
   * Live socket. The worker has validated the upgrade, the location and
   * `since`, and passes them as query parameters. Snapshot, then the resume
   * backlog, are sent before this returns: no await in between, so no batch
   * can interleave and the client sees every seq exactly once.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const location = url.searchParams.get("location") ?? "";
    const sinceParam = url.searchParams.get("since");
    const since = sinceParam === null ? null : Number(sinceParam);

    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [LIVE_TAG]);
    server.serializeAttachment({ connectedAt: Date.now(), since } satisfies LiveAttachment);

    const head = this.stores?.log.head ?? 0;
    const window = this.window();
    sendFrame(server, { type: "snapshot", location, head, window, recent: this.stores?.log.recent(SNAPSHOT_RECENT) ?? [] });
    if (since !== null && this.stores) {
      for (const frame of backlogFrames(location, head, since, window, (a, l) => this.log.range(a, l))) sendFrame(server, frame);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Live sockets are read-only: pings are answered by the runtime; anything else breaks the contract. */
  override webSocketMessage(ws: WebSocket): void {
    ws.close(CLOSE.policy, 'live sockets are read-only; send only "ping"');
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(closeCodeFor(code), reason);
    } catch {
      // Already closed on our side: nothing left to answer.
    }
  }

  override webSocketError(ws: WebSocket): void {
    try {
      ws.close(1011, "socket error");
    } catch {
      // The socket is already gone.
    }
  }

  /**
   * The one write path: `build` returns the entries to append (it may write
   * projections through `meter`), they are appended as one commit with
   * the action projections updated, all in one transaction; then one frame
   * goes to every open socket. A failed transaction rolls back and the cached
   * heads and rules are reloaded.
   */
  private commit(location: string, build: (now: number, meter: WriteMeter) => NewEntry[]): { stored: LogEvent[]; rowsWritten: number } {
    const meter = new WriteMeter(this.ctx.storage.sql);
    const now = Date.now();
    let stored: LogEvent[];
    try {
      stored = this.ctx.storage.transactionSync(() => {
        const appended = this.log.append(meter, build(now, meter), now);
        this.actions.record(meter, appended);
        return appended;
      });
    } catch (error) {
      this.log.reload();
      this.projections.forget();
      this.actions.load();
      throw error;
    }
    if (stored.length > 0) {
      broadcast(this.ctx, () => ({ type: "events", location, head: this.log.head, events: stored, window: this.window() }));
    }
    return { stored, rowsWritten: meter.rowsWritten };
  }

  /** The rules' verdict on `devices` at `now`, as entries starting at `firstSeq`. */
  private decideFor(devices: Set<string>, now: number, firstSeq: number): NewEntry[] {
    const windows = deviceWindows(this.projections.windowBuckets(now), now, devices);
    return actionEntries(decide(this.actions.rules, this.actions.raised, windows), firstSeq, now);
  }

  private window(): ScoreWindow {
    return this.stores ? this.stores.projections.window(Date.now()) : scoreWindowAt([], Date.now());
  }

  /**
   * Tells the fleet view about the change. A failure is logged, not thrown:
   * the batch is committed, and failing the ingest would only make the bridge
   * resend duplicates, which publish nothing. Retrying (and aging the window
   * at minute boundaries) belongs to the location's alarm.
   */
  private async publishToFleet(location: string): Promise<void> {
    try {
      await publishSummary(this.env, { ...this.summary(location), alerts: this.actions.raised.size });
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "fleet publish failed", location, error: String(error) }));
    }
  }

  /** Adds this location to the directory once; retried on the next append if it fails. */
  private async register(location: string): Promise<void> {
    const directory = this.env.DIRECTORY.get(this.env.DIRECTORY.idFromName(DIRECTORY_NAME));
    await directory.register(location);
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('registered', ?)", location);
    this.registered = true;
  }
}
