import { DurableObject } from "cloudflare:workers";
import type { HourSummary, IngestEvent, LocationSummary, LogEvent, EventsPage, ScoreWindow } from "../protocol";
import { CLOSE, SNAPSHOT_RECENT } from "../protocol/live";
import { isoString } from "../protocol/time";
import type { DeviceState } from "../domain/projections";
import { migrate } from "./migrations";
import { WriteMeter } from "./sql";
import { EventLog } from "./location/event-log";
import { ProjectionStore } from "./location/projection-store";
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

/**
 * One location: its event log, the projections derived from it, and the live
 * sockets watching it. A thin shell over EventLog, ProjectionStore and the
 * socket helpers; the domain rules live in domain/.
 *
 * The location's name travels with every call, because an object addressed
 * with `idFromName` cannot read its own name back.
 */
export class LocationStream extends DurableObject<Env> {
  private readonly log: EventLog;
  private readonly projections: ProjectionStore;
  private readonly stats: WriteStats = { appends: 0, accepted: 0, duplicates: 0, rowsWritten: 0 };
  private registered: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, LOCATION_MIGRATIONS);
    this.log = new EventLog(ctx.storage.sql);
    this.projections = new ProjectionStore(ctx.storage.sql);
    this.registered = ctx.storage.sql.exec("SELECT 1 FROM meta WHERE key = 'registered'").toArray().length > 0;
    enablePingAutoResponse(ctx);
  }

  /**
   * Stores the events whose ids are new, updates the projections and answers
   * only after the transaction committed; then pushes one frame to every
   * open socket. Duplicates (earlier in the log or in this batch) cost nothing.
   */
  async append(location: string, events: IngestEvent[]): Promise<AppendResult> {
    const meter = new WriteMeter(this.ctx.storage.sql);
    const recordedAt = Date.now();
    let stored: LogEvent[];
    try {
      stored = this.ctx.storage.transactionSync(() => {
        const fresh = this.log.onlyNew(events);
        this.projections.apply(meter, fresh);
        return this.log.append(meter, fresh, recordedAt);
      });
    } catch (error) {
      this.log.reload(); // the transaction rolled back: forget the head it advanced
      throw error;
    }
    const result: AppendResult = {
      accepted: stored.length,
      duplicates: events.length - stored.length,
      head: this.log.head,
      rowsWritten: meter.rowsWritten,
    };
    this.stats.appends++;
    this.stats.accepted += result.accepted;
    this.stats.duplicates += result.duplicates;
    this.stats.rowsWritten += result.rowsWritten;
    if (stored.length > 0) {
      broadcast(this.ctx, { type: "events", location, head: this.log.head, events: stored, window: this.window() });
      if (!this.registered) await this.register(location);
    }
    return result;
  }

  summary(location: string): LocationSummary {
    return {
      location,
      head: this.log.head,
      lastEventAt: this.log.lastRecordedAt === null ? null : isoString(this.log.lastRecordedAt),
      window: this.window(),
    };
  }

  hourly(from: number, to: number): HourSummary[] {
    return this.projections.hourly(from, to);
  }

  events(after: number, limit: number): EventsPage {
    const events = this.log.range(after, limit);
    const last = events.at(-1)?.seq ?? after;
    return { events, next: last < this.log.head ? last : null };
  }

  devices(): DeviceState[] {
    return this.projections.devices();
  }

  writeStats(): WriteStats {
    return { ...this.stats };
  }

  /** Drops every projection and rebuilds it from the log, in one transaction. */
  rebuild(): RebuildResult {
    const meter = new WriteMeter(this.ctx.storage.sql);
    this.ctx.storage.transactionSync(() => {
      const facts = (function* (rows: ReturnType<EventLog["all"]>) {
        for (const r of rows) {
          if (r.type !== "reading" || r.device_id === null) continue;
          yield {
            deviceId: r.device_id,
            occurredAt: r.occurred_at,
            ...(r.vote !== null && { vote: r.vote as 0 | 0.5 | 1 }),
            ...(r.temperature !== null && { temperature: r.temperature }),
            ...(r.humidity !== null && { humidity: r.humidity }),
          };
        }
      })(this.log.all());
      this.projections.rebuild(meter, facts);
    });
    return { events: this.log.head, rowsWritten: meter.rowsWritten };
  }

  /** Projection rows, for tests comparing incremental and rebuilt state. */
  projectionRows(): ReturnType<ProjectionStore["dump"]> {
    return this.projections.dump();
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

    const head = this.log.head;
    const window = this.window();
    sendFrame(server, { type: "snapshot", location, head, window, recent: this.log.recent(SNAPSHOT_RECENT) });
    if (since !== null) {
      for (const frame of backlogFrames(location, head, since, window, (a, l) => this.log.range(a, l))) sendFrame(server, frame);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Live sockets are read-only: pings are answered by the runtime; anything else breaks the contract. */
  override webSocketMessage(ws: WebSocket): void {
    ws.close(CLOSE.policy, "live sockets are read-only; send only \"ping\"");
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

  private window(): ScoreWindow {
    return this.projections.window(Date.now());
  }

  /** Adds this location to the directory once; retried on the next append if it fails. */
  private async register(location: string): Promise<void> {
    const directory = this.env.DIRECTORY.get(this.env.DIRECTORY.idFromName(DIRECTORY_NAME));
    await directory.register(location);
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('registered', ?)", location);
    this.registered = true;
  }
}
