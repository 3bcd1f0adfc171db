import { DurableObject } from "cloudflare:workers";
import type { ActiveAlert, EventsPage, IngestEvent, LocationSummary, RebuildResponse, Rule } from "../protocol";
import type { DailyRow, HeatmapCell, LocalHour, WeeklyRow } from "../protocol/calendar";
import { DEFAULT_SETTINGS, type LocationSettings } from "../protocol/settings";
import { CalendarView, type DayRange, type ExportPage } from "./location/calendar-view";
import { exportPage } from "./location/export-page";
import { CLOSE, RESYNC_AFTER, SNAPSHOT_RECENT } from "../protocol/live";
import { isoString } from "../protocol/time";
import type { DeviceState } from "../domain/projections";
import type { LocationInput } from "../domain/location/decide";
import type { Entry } from "../domain/location/entries";
import { nextLiveWindowChange, nextVerdictChange } from "../domain/location/timing";
import { nextOfflineChange } from "../domain/location/offline";
import { acceptProfiles } from "./location/profile-updates";
import type { DeviceProfileUpdate } from "../protocol/device-profiles";
import { migrate } from "./migrations";
import { WriteMeter } from "./sql";
import type { CommandState } from "./location/action-store";
import { toLogEvent } from "./location/event-log";
import { CHECKPOINT_EVERY_EVENTS, EMPTY_LOCATION, OpenLocation, type AlertsRead, type LocationReads } from "./location/open-location";
import { Notifier } from "./location/notifier";
import type { Acknowledgement } from "../protocol/notifications";
import { forwardCommands } from "./location/command-link";
import { calendarFields, publishSummary } from "./location/fleet-link";
import { LOCATION_MIGRATIONS } from "./location/schema";
import { Rebuild, idleRebuild } from "./location/rebuild";
import { Retention } from "./location/retention";
import { retentionMs } from "../domain/location/retention";
import {
  DEFAULT_MAX_SOCKETS,
  LIVE_TAG,
  backlogFrames,
  broadcast,
  answerClose,
  closeAfterError,
  enablePingAutoResponse,
  eventsFrames,
  sendFrame,
  type LiveAttachment,
} from "./location/live-sockets";

export interface AppendResult {
  accepted: number;
  /** Events already in the log, by device and id (conflicts included). */
  duplicates: number;
  /** Indexes (in the events given) of events whose device and id are in the log with other readings: not stored. */
  conflicts: number[];
  head: number;
  /** SQLite rows this append was billed for (log, action projections, and a checkpoint if one fell due). */
  rowsWritten: number;
}

export interface RebuildResult {
  events: number;
  rowsWritten: number;
}

/** Writes since the object started: what `GET …/stats` reports. Every row the object writes is counted, alarms' included. */
export interface WriteStats {
  appends: number;
  accepted: number;
  duplicates: number;
  rowsWritten: number;
  checkpoints: number;
  alarms: number;
}

export interface DeliveryResult {
  recorded: number;
  duplicates: number;
  unknown: string[];
}

/**
 * An alarm that runs anyway also writes the projections back if the last
 * checkpoint is this old. No alarm is ever set for a checkpoint alone: the
 * tail after it stays in the log and is folded again on wake (reads, not
 * writes), and CHECKPOINT_EVERY_EVENTS bounds that tail.
 */
export const CHECKPOINT_MS = 5 * 60_000;
/** A location tells the fleet view at most this often. */
export const FLEET_INTERVAL_MS = 1_000;
/** Retry delays for calls to other objects that failed (doubling up to the last). */
const RETRY_MS = [1_000, 2_000, 5_000, 15_000, 60_000];

/**
 * One location: its event log, the projections derived from it, the rules
 * that act on them, and the live sockets watching it. A thin shell: the
 * location's logic is the decider in domain/location (`decide`, `evolve`,
 * `allocate`), its storage is OpenLocation; this class loads, runs the
 * decider in a transaction, broadcasts, and keeps one alarm for what time
 * alone changes.
 *
 * The alarm is set only when something is due: a rule verdict that aging
 * will change, the live window losing its oldest minute (sockets get a
 * `window` frame, the fleet a fresh summary), a coalesced fleet update, or
 * commands the commands hub could not take yet, notifications to send, the
 * daily digest (with `digestAt` in the settings: once a day).
 * With nothing due no alarm is set, and the object can hibernate.
 *
 * The location's name is stored with its first write (an object addressed
 * with `idFromName` cannot read its own name back, and alarms need it).
 */
export class LocationStream extends DurableObject<Env> {
  /** null until the location's tables exist: created by its first write, so reading an unknown name creates nothing. */
  private open: OpenLocation | null = null;
  private name: string | null = null;
  private readonly stats: WriteStats = { appends: 0, accepted: 0, duplicates: 0, rowsWritten: 0, checkpoints: 0, alarms: 0 };

  /** The alarm as last set (undefined: not read yet). */
  private alarmAt: number | null | undefined;
  private lastCheckpointAt = Date.now();
  /** The live window's figures as last sent to sockets, to send a `window` frame only on a change. */
  private lastWindowKey = "";
  private readonly fleet = { dirty: false, lastAt: 0, retryAt: 0, failures: 0, registered: false };
  /** Commands issued but not yet handed to the commands hub: `seq` is the last command seq it took. */
  private readonly hub = { pending: false, seq: 0, retryAt: 0, failures: 0 };
  /** Sends the location's notifications from the alarm (durable-objects/location/notifier.ts). */
  private readonly notifier: Notifier;
  /** A chunked rebuild in progress (its progress is in storage): the alarm runs its next chunk at once. */
  private rebuilding = false;
  /** RETENTION_DAYS in ms (null: keep every reading); an invalid value fails the object's every call with why. */
  private readonly retention: number | null;
  /** The last seq retention dropped: reads before it answer 410. */
  private dropped = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.retention = retentionMs(env.RETENTION_DAYS);
    this.notifier = new Notifier({
      env,
      commit: (input) => void this.commit(this.name!, input, Date.now()),
      write: (run) => {
        const meter = new WriteMeter(ctx.storage.sql);
        run(meter);
        this.stats.rowsWritten += meter.rowsWritten;
      },
    });
    const created = ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray().length > 0;
    if (created) this.load();
    enablePingAutoResponse(ctx);
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
      // Commands a previous instance could not hand to the hub, notifications it had not sent,
      // a rebuild an eviction interrupted (its next chunk): the alarm carries them on.
      // A daily digest to come counts too (the stored alarm normally holds it already).
      if (this.hub.pending || this.notifier.dueAt(this.open?.state ?? null, Date.now()) !== null || this.rebuilding) this.reschedule(Date.now());
    });
  }

  /** Creates (or migrates) the schema and loads the location; idempotent. */
  private load(): OpenLocation {
    if (this.open) return this.open;
    migrate(this.ctx.storage, LOCATION_MIGRATIONS);
    // 'registered' is where locations kept their name before the fleet view replaced the directory.
    const meta = this.ctx.storage.sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key IN ('location', 'registered', 'fleet')").toArray();
    this.name = meta.find((m) => m.key === "location")?.value ?? meta.find((m) => m.key === "registered")?.value ?? null;
    this.fleet.registered = meta.some((m) => m.key === "fleet");
    const open = (this.open = new OpenLocation(this.ctx.storage.sql, Date.now()));
    const forwarded = this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'hub'").toArray()[0];
    this.hub.seq = forwarded ? Number(forwarded.value) : 0;
    this.hub.pending = open.actions.undeliveredAfter(this.hub.seq, 1).length > 0;
    this.notifier.load(open, Date.now());
    this.rebuilding = new Rebuild(this.ctx.storage.sql).running;
    this.dropped = new Retention(this.ctx.storage.sql).droppedUpTo();
    // Projections from before the calendar existed: a chunked rebuild, run by the alarm, gives the log its quarter buckets too.
    if (open.calendar.needsRebuild() && !this.rebuilding) {
      const meter = new WriteMeter(this.ctx.storage.sql);
      this.ctx.storage.transactionSync(() => new Rebuild(this.ctx.storage.sql).start(meter, Date.now()));
      this.stats.rowsWritten += meter.rowsWritten;
      this.rebuilding = true;
    }
    return open;
  }

  /** Reads go here: the open location, or the empty one when nothing was ever written. */
  private get reads(): LocationReads {
    return this.open ?? EMPTY_LOCATION;
  }

  /**
   * Stores the events new by (device, id), updates the projections and lets
   * the rules decide on the devices heard. Duplicates (earlier in the log or
   * in this batch) cost nothing; a repeat with other readings is a conflict.
   */
  async append(location: string, events: IngestEvent[]): Promise<AppendResult> {
    const now = Date.now();
    const { fresh, conflicts } = events.length === 0 ? { fresh: [], conflicts: [] } : this.load().sortOut(events);
    const { rowsWritten } = fresh.length > 0 ? this.commit(location, { type: "ingest", events: fresh }, now) : { rowsWritten: 0 };
    const result: AppendResult = {
      accepted: fresh.length,
      duplicates: events.length - fresh.length,
      conflicts,
      head: this.reads.head,
      rowsWritten,
    };
    this.stats.appends++;
    this.stats.accepted += result.accepted;
    this.stats.duplicates += result.duplicates;
    // A quiet location tells the fleet at once (the first write makes it known before the writer hears back);
    // a busy one at most once a second, by the alarm.
    if (fresh.length > 0 && (!this.fleet.registered || this.fleetDueAt() <= now)) await this.tellFleet(now);
    if (this.hub.pending) await this.tellHub(now);
    return result;
  }

  /**
   * Replaces the rule set: a `rules-set` entry, alerts of rules removed or
   * redefined are cleared (with their clear command), and every device heard
   * in the new rules' windows is judged by them at once.
   */
  async setRules(location: string, rules: Rule[]): Promise<{ rules: Rule[]; seq: number }> {
    const now = Date.now();
    this.load().ensureSpan(rules, now);
    this.commit(location, { type: "set-rules", rules }, now);
    const set = this.reads.rules();
    if (this.hub.pending) await this.tellHub(now);
    return { rules: set.rules, seq: set.seq! };
  }

  /**
   * The device registry's push of profiles of devices registered (or no
   * longer registered) here: a `device-profiles-set` entry with those that
   * changed (none for a repeat), and their offline verdicts. Answers how many
   * the location holds now. A push that only removes creates no location.
   */
  setDeviceProfiles(location: string, profiles: DeviceProfileUpdate[]): { held: number } {
    const updates = acceptProfiles(profiles);
    if (!this.open && updates.every((u) => u.profile === null)) return { held: 0 };
    this.commit(location, { type: "set-device-profiles", profiles: updates }, Date.now());
    return { held: this.open!.state.profiles.size };
  }

  /** Records what the bridge published; a repeated report changes nothing. */
  recordDeliveries(location: string, deliveries: { id: string; deliveredAt: number }[]): DeliveryResult {
    const open = this.open;
    if (!open) return { recorded: 0, duplicates: 0, unknown: deliveries.map((d) => d.id) };
    const known = open.actions.known(deliveries.map((d) => d.id));
    const input: LocationInput = {
      type: "record-deliveries",
      deliveries: deliveries.map((d) => ({ ...d, command: known.get(d.id) ?? null })),
    };
    const { entries } = this.commit(location, input, Date.now());
    const unknown = deliveries.filter((d) => !known.has(d.id)).map((d) => d.id);
    return { recorded: entries.length, duplicates: deliveries.length - entries.length - unknown.length, unknown };
  }

  summary(location: string): LocationSummary {
    const { head, lastRecordedAt } = this.reads;
    return { location, head, lastEventAt: lastRecordedAt === null ? null : isoString(lastRecordedAt), window: this.reads.window(Date.now()) };
  }

  /** Local hours (the location's time zone) covering [from, to); null ends: the 24 hours ending with the current one. */
  hourly(from: number | null, to: number | null, openOnly = false): { timeZone: string; hours: LocalHour[] } {
    const view = this.calendarView();
    return { timeZone: view.settings.timeZone, hours: view.hourly(from, to, openOnly, Date.now()) };
  }

  settings(): { settings: LocationSettings; seq: number | null } {
    const view = this.calendarView();
    return { settings: view.settings, seq: view.seq };
  }

  /** Replaces the settings (validated by the worker): a `settings-set` entry, unless they equal those in force. */
  setSettings(location: string, settings: LocationSettings): { settings: LocationSettings; seq: number | null } {
    this.commit(location, { type: "set-settings", settings }, Date.now());
    return this.settings();
  }

  daily(range: DayRange, openOnly: boolean): { timeZone: string; days: DailyRow[] } {
    const view = this.calendarView();
    return { timeZone: view.settings.timeZone, days: view.daily(range, openOnly, Date.now()) };
  }

  weekly(range: DayRange, openOnly: boolean): { timeZone: string; weeks: WeeklyRow[] } {
    const view = this.calendarView();
    return { timeZone: view.settings.timeZone, weeks: view.weekly(range, openOnly, Date.now()) };
  }

  heatmap(weeks: number, openOnly: boolean): { timeZone: string; from: string; to: string; cells: HeatmapCell[] } {
    const view = this.calendarView();
    return { timeZone: view.settings.timeZone, ...view.heatmap(weeks, openOnly, Date.now()) };
  }

  /** The UTC span of local days `range` and the zone, fixed once per export so its pages agree. */
  exportSpan(range: DayRange): { from: number; to: number; timeZone: string } {
    const view = this.calendarView();
    return { ...view.span(range, Date.now()), timeZone: view.settings.timeZone };
  }

  /** One page of the export: see `exportPage` (durable-objects/location/export-page.ts). */
  exportPage(span: { from: number; to: number }, after: number, limit: number): ExportPage {
    return exportPage(this.open, span, after, limit);
  }

  /** The calendar of the location as it stands (the defaults and no data before its first write). */
  private calendarView(): CalendarView {
    const open = this.open;
    if (!open) return new CalendarView(DEFAULT_SETTINGS, null, () => []);
    const { settings, settingsSeq } = open.state.calendar;
    return new CalendarView(settings, settingsSeq, (from, to) => open.calendar.quarters(open.state, from, to));
  }

  /** A page of the log: what is held of it, from the retained start on (see `page`). */
  events(after: number, limit: number): EventsPage {
    return this.reads.events(after, limit);
  }

  /** The read API's page: the first seq still held instead when `after` is before it (retention dropped what came before). */
  page(after: number, limit: number): EventsPage | { firstSeq: number } {
    return after < this.dropped ? { firstSeq: this.dropped + 1 } : this.events(after, limit);
  }

  devices(): DeviceState[] {
    return this.reads.devices();
  }

  rules(): { rules: Rule[]; seq: number | null } {
    return this.reads.rules();
  }

  alerts(): AlertsRead {
    return this.reads.alerts(SNAPSHOT_RECENT);
  }

  /**
   * Records that somebody saw an alert (`alertId`: its `alert-raised` entry).
   * An alert is acknowledged once: a second acknowledgement changes nothing
   * and is answered with the first.
   */
  acknowledge(alertId: string, comment: string | null): { outcome: "acknowledged" | "already"; acknowledgement: Acknowledgement } | { outcome: "unknown" } {
    const open = this.open;
    if (!open || this.name === null || open.raisedAlert(alertId) === null) return { outcome: "unknown" };
    const before = open.notifications.acknowledgement(alertId);
    this.commit(this.name, { type: "acknowledge", alertId, comment, alert: { acknowledged: before !== null } }, Date.now());
    const after = open.notifications.acknowledgement(alertId)!;
    return { outcome: before === null ? "acknowledged" : "already", acknowledgement: after };
  }

  writeStats(): WriteStats {
    return { ...this.stats };
  }

  /**
   * Starts a chunked rebuild of every projection (durable-objects/location/rebuild.ts),
   * or finds the one running, and runs its next chunk now; the alarm runs
   * the rest. Reads answer from the old projections until the last chunk
   * swaps the new ones in.
   */
  startRebuild(location: string): RebuildResponse {
    const open = this.open;
    if (!open) return idleRebuild(location, 0);
    const rebuild = new Rebuild(this.ctx.storage.sql);
    const meter = new WriteMeter(this.ctx.storage.sql);
    this.ctx.storage.transactionSync(() => rebuild.start(meter, Date.now()));
    this.stats.rowsWritten += meter.rowsWritten;
    this.rebuilding = true;
    this.rebuildChunk(open, Date.now());
    return rebuild.status(location, open.head);
  }

  rebuildStatus(location: string): RebuildResponse {
    const open = this.open;
    return open ? new Rebuild(this.ctx.storage.sql).status(location, open.head) : idleRebuild(location, 0);
  }

  /** Rebuilds every projection now, every chunk in this one call: for tests comparing a rebuild with the incremental rows. */
  rebuild(): RebuildResult {
    const open = this.open;
    if (!open) return { events: 0, rowsWritten: 0 };
    const before = this.stats.rowsWritten;
    this.startRebuild(this.name ?? "");
    while (this.rebuilding) this.rebuildChunk(open, Date.now());
    return { events: open.head, rowsWritten: this.stats.rowsWritten - before };
  }

  /**
   * One retention pass: the oldest aged readings, a bounded chunk, dropped
   * after folding them into the base projections; the projections are
   * checkpointed past them first, in the same transaction.
   */
  private dropAged(open: OpenLocation, retention: number, now: number): void {
    const store = new Retention(this.ctx.storage.sql);
    const commits = store.due(now, retention);
    const last = commits.at(-1);
    if (!last) return;
    const meter = new WriteMeter(this.ctx.storage.sql);
    try {
      this.ctx.storage.transactionSync(() => {
        if (open.checkpointedSeq < last.firstSeq + last.count - 1) open.checkpoint(meter, now);
        store.drop(meter, open, commits);
      });
    } catch (error) {
      open.reload(now);
      throw error;
    }
    this.stats.rowsWritten += meter.rowsWritten;
    this.dropped = store.droppedUpTo();
  }

  /** One chunk of the running rebuild, in its own transaction; memory follows the swap. */
  private rebuildChunk(open: OpenLocation, now: number): void {
    const meter = new WriteMeter(this.ctx.storage.sql);
    let swapped: boolean;
    try {
      swapped = this.ctx.storage.transactionSync(() => new Rebuild(this.ctx.storage.sql).step(meter, open, now));
    } catch (error) {
      open.reload(now);
      throw error;
    }
    this.stats.rowsWritten += meter.rowsWritten;
    if (swapped) {
      this.rebuilding = false;
      open.reload(now);
      this.notifier.load(open, now);
    }
    this.reschedule(now);
  }

  /** Projection rows as stored, after writing back what memory holds: for tests comparing incremental and rebuilt state. */
  projectionRows(): Record<string, unknown[]> {
    const open = this.open;
    if (!open) return {};
    this.checkpoint(open, Date.now());
    return { ...open.projections.dump(), ...open.actions.dump(), ...open.notifications.dump(), ...open.calendar.dump(), ...open.profiles.dump() };
  }

  /**
   * Live socket. The worker has validated the upgrade, the location and
   * `since`, and passes them as query parameters. Snapshot, then the resume
   * backlog (or a `resync` frame when it is longer than RESYNC_AFTER), are sent
   * before this returns: no await in between, so no batch can interleave and
   * the client sees every seq exactly once.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const location = url.searchParams.get("location") ?? "";
    const sinceParam = url.searchParams.get("since");
    const since = sinceParam === null ? null : Number(sinceParam);

    const { 0: client, 1: server } = new WebSocketPair();
    const full = this.ctx.getWebSockets(LIVE_TAG).length >= this.maxSockets();
    this.ctx.acceptWebSocket(server, full ? [] : [LIVE_TAG]);
    if (full) {
      server.close(CLOSE.tryAgainLater, `this location has ${this.maxSockets()} live sockets open; try again later`);
      return new Response(null, { status: 101, webSocket: client });
    }
    server.serializeAttachment({ connectedAt: Date.now(), since } satisfies LiveAttachment);

    const reads = this.reads;
    const head = reads.head;
    const window = reads.window(Date.now());
    sendFrame(server, { type: "snapshot", location, head, window, recent: reads.recent(SNAPSHOT_RECENT) });
    if (since !== null && this.open && since < head) {
      // A resume from before the retained start cannot be served: the resync frame starts the client afresh at the head.
      if (head - since > RESYNC_AFTER || since < this.dropped) sendFrame(server, { type: "resync", location, head });
      else for (const frame of backlogFrames(location, head, since, window, (a, l) => this.open!.range(a, l))) sendFrame(server, frame);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Live sockets are read-only: pings are answered by the runtime; anything else breaks the contract. */
  override webSocketMessage(ws: WebSocket): void {
    ws.close(CLOSE.policy, 'live sockets are read-only; send only "ping"');
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    answerClose(ws, code, reason);
  }

  override webSocketError(ws: WebSocket): void {
    closeAfterError(ws);
  }

  /**
   * Whatever is due: the rules judge the aged windows (a silent device's
   * alert clears), sockets get the aged live window, projections are written
   * back, the fleet view hears the new summary. Then the next alarm, if any.
   */
  override async alarm(): Promise<void> {
    const open = this.open;
    this.alarmAt = null;
    if (!open || this.name === null) return;
    this.stats.alarms++;
    const now = Date.now();
    // A fresh instance does not know whether its last summary reached the fleet: send one.
    if (this.fleet.lastAt === 0) this.fleet.dirty = true;
    this.commit(this.name, { type: "tick" }, now);
    if (this.rebuilding) this.rebuildChunk(open, now);
    // Retention waits for a running rebuild: the rebuild folds the log it would drop.
    else if (this.retention !== null) this.dropAged(open, this.retention, now);
    this.sendWindowIfChanged(now);
    if (open.uncheckpointed > 0 && now >= this.lastCheckpointAt + CHECKPOINT_MS) this.checkpoint(open, now);
    if (this.fleet.dirty && now >= this.fleetDueAt()) await this.tellFleet(now);
    if (this.hub.pending && now >= this.hub.retryAt) await this.tellHub(now);
    const notifyAt = this.notifier.dueAt(open.state, now);
    if (notifyAt !== null && notifyAt <= now) await this.notifier.run(open, this.name, now);
    this.reschedule(Date.now());
  }

  /**
   * The one write path: the decider's entries for `input`, appended with the
   * action projections in one transaction (plus a checkpoint when enough
   * events are folded in memory); then frames to every open socket and the
   * alarm for what is due. A failed transaction rolls back and memory is
   * reloaded from storage.
   */
  private commit(location: string, input: LocationInput, now: number): { entries: Entry[]; rowsWritten: number } {
    const open = this.load();
    const meter = new WriteMeter(this.ctx.storage.sql);
    let entries: Entry[];
    try {
      entries = this.ctx.storage.transactionSync(() => {
        const appended = open.run(meter, input, now);
        if (appended.length > 0 && this.name === null) {
          meter.run("INSERT INTO meta (key, value) VALUES ('location', ?) ON CONFLICT(key) DO NOTHING", location);
          this.name = location;
        }
        return appended;
      });
    } catch (error) {
      open.reload(now);
      throw error;
    }
    if (open.uncheckpointed >= CHECKPOINT_EVERY_EVENTS) this.checkpoint(open, now, meter);
    this.stats.rowsWritten += meter.rowsWritten;
    if (entries.length > 0) {
      const events = entries.map(toLogEvent);
      const window = open.window(now);
      broadcast(this.ctx, () => eventsFrames(location, open.head, events, window));
      this.lastWindowKey = windowKey(window);
      this.fleet.dirty = true;
      if (entries.some((e) => e.type === "command-issued")) this.hub.pending = true;
      if (entries.some((e) => e.type === "alert-raised" || e.type === "alert-cleared")) this.notifier.alertsCommitted(now);
      this.reschedule(now);
    }
    return { entries, rowsWritten: meter.rowsWritten };
  }

  /** Writes the projections back (its own transaction) and counts the rows. */
  private checkpoint(open: OpenLocation, now: number, into?: WriteMeter): void {
    const meter = into ?? new WriteMeter(this.ctx.storage.sql);
    const before = meter.rowsWritten;
    try {
      this.ctx.storage.transactionSync(() => open.checkpoint(meter, now));
    } catch (error) {
      open.reload(now);
      throw error;
    }
    if (!into) this.stats.rowsWritten += meter.rowsWritten - before;
    this.stats.checkpoints++;
    this.lastCheckpointAt = now;
  }

  /** A `window` frame to open sockets when the live window's figures changed since the last frame. */
  private sendWindowIfChanged(now: number): void {
    const open = this.open;
    if (!open || this.name === null) return;
    const window = open.window(now);
    const key = windowKey(window);
    if (key === this.lastWindowKey) return;
    this.lastWindowKey = key;
    this.fleet.dirty = true;
    const location = this.name;
    broadcast(this.ctx, () => [{ type: "window", location, head: open.head, window }]);
  }

  private fleetDueAt(): number {
    return Math.max(this.fleet.lastAt + FLEET_INTERVAL_MS, this.fleet.retryAt);
  }

  /**
   * Tells the fleet view the location's summary (head, window, alerts). The
   * fleet keeps the newest per location, so a repeat is harmless; on failure
   * the alarm retries with growing delays until it succeeds.
   */
  private async tellFleet(now: number): Promise<void> {
    const location = this.name;
    if (location === null) return;
    this.fleet.dirty = false;
    this.fleet.lastAt = now;
    try {
      await publishSummary(this.env, { ...this.summary(location), alerts: this.reads.alertCount, ...(this.open && calendarFields(this.open, now)) });
      if (!this.fleet.registered) {
        const meter = new WriteMeter(this.ctx.storage.sql);
        meter.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('fleet', ?)", location);
        this.stats.rowsWritten += meter.rowsWritten;
        this.fleet.registered = true;
      }
      this.fleet.failures = 0;
      this.fleet.retryAt = 0;
      this.reschedule(Date.now());
    } catch (error) {
      this.fleet.dirty = true;
      this.fleet.retryAt = Date.now() + RETRY_MS[Math.min(this.fleet.failures, RETRY_MS.length - 1)]!;
      this.fleet.failures++;
      console.warn(JSON.stringify({ msg: "fleet update failed; retrying", location, error: String(error) }));
      this.reschedule(Date.now());
    }
  }

  /**
   * Hands the commands issued since the last hand-over to the commands hub
   * (idempotent there, by location and id), then remembers how far it got.
   * Called right after the commit that issued them, so a command reaches the
   * bridge at once; on failure the alarm retries with growing delays until
   * the hub has them: a command is never lost between location and hub.
   */
  private async tellHub(now: number): Promise<void> {
    const open = this.open;
    const location = this.name;
    if (!open || location === null) return;
    const commands = open.actions.undeliveredAfter(this.hub.seq, 500);
    if (commands.length === 0) {
      this.hub.pending = false;
      return;
    }
    try {
      await forwardCommands(this.env, location, commands);
      const seq = commands.at(-1)!.seq;
      const meter = new WriteMeter(this.ctx.storage.sql);
      meter.run("INSERT INTO meta (key, value) VALUES ('hub', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(seq));
      this.stats.rowsWritten += meter.rowsWritten;
      this.hub.seq = seq;
      this.hub.failures = 0;
      this.hub.retryAt = 0;
      this.hub.pending = commands.length === 500;
    } catch (error) {
      this.hub.pending = true;
      this.hub.retryAt = Date.now() + RETRY_MS[Math.min(this.hub.failures, RETRY_MS.length - 1)]!;
      this.hub.failures++;
      console.warn(JSON.stringify({ msg: "handing commands to the hub failed; retrying", location, error: String(error) }));
    }
    this.reschedule(Date.now());
  }

  /**
   * Sets the alarm to the earliest thing due, if any: a verdict aging will
   * change, a registered device going offline, the live window's next change (while it holds readings), a fleet
   * update, commands for the hub, notifications and the daily digest. An alarm that fired is gone, so when
   * nothing is due none is set.
   */
  private reschedule(now: number): void {
    const open = this.open;
    if (!open || this.alarmAt === undefined) return;
    const due: number[] = [];
    const verdict = nextVerdictChange(open.state, now);
    if (verdict !== null) due.push(verdict);
    const live = nextLiveWindowChange(open.state, now);
    if (live !== null) due.push(live);
    const offline = nextOfflineChange(open.state, now);
    if (offline !== null) due.push(offline);
    if (this.fleet.dirty) due.push(this.fleetDueAt());
    if (this.hub.pending) due.push(this.hub.retryAt);
    // Notifications to send, and the daily digest (with `digestAt`: once a day, at its local time).
    const notify = this.notifier.dueAt(open.state, now);
    if (notify !== null) due.push(notify);
    if (this.rebuilding) due.push(now);
    else {
      const aging = new Retention(this.ctx.storage.sql).nextDue(this.retention);
      if (aging !== null) due.push(aging);
    }
    const next = due.length === 0 ? null : Math.max(now, Math.min(...due));
    // Setting an alarm is a storage write: only ever move it earlier. One set
    // sooner than needed just runs, finds less to do, and sets the next one.
    if (next === null || (this.alarmAt !== null && this.alarmAt <= next)) return;
    this.alarmAt = next;
    void this.ctx.storage.setAlarm(next);
  }

  private maxSockets(): number {
    const configured = Number(this.env.MAX_SOCKETS_PER_LOCATION);
    return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_SOCKETS;
  }
}

/** What a dashboard shows of a window: its figures (not `from`/`to`, which move with the clock). */
const windowKey = (w: { votes: number; score: number | null; devices: number; temperature: number | null; humidity: number | null }) =>
  JSON.stringify([w.votes, w.score, w.devices, w.temperature, w.humidity]);
