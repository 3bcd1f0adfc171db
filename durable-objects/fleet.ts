import { DurableObject } from "cloudflare:workers";
import { CLOSE, fleetFrameTexts, fleetPublication, supersedes, type FleetPublication, type FleetSummary } from "../protocol";
import type { CalendarDays } from "../protocol/calendar-days";
import type { RankingEntry, RankingPeriod } from "../protocol/ranking";
import { rankLocations } from "../domain/calendar/ranking";
import { migrate, type Migration } from "./migrations";
import { answerClose, closeAfterError, enablePingAutoResponse } from "./location/live-sockets";

/** The one Fleet instance's name (see docs/ARCHITECTURE.md for why one is enough). */
export const FLEET_NAME = "fleet";

export const fleetStub = (env: Env) => env.FLEET.get(env.FLEET.idFromName(FLEET_NAME));

/** Publishes within this long of the first change go out as one `changes` frame. */
export const COALESCE_MS = 250;

/** Tag on the fleet sockets. */
const FLEET_TAG = "fleet";

export interface FleetPage {
  locations: FleetSummary[];
  /** The last name of this page when more follow (the worker turns it into an opaque cursor). */
  next: string | null;
}

const FLEET_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "one summary per location",
    // `version` orders changes for the coalescing alarm; `head` and `window_to`
    // are the summary's age. One row per location, keyed by name: listing is
    // a range scan in code point order (SQLite compares TEXT as UTF-8 bytes).
    sql: `
      CREATE TABLE summaries (
        location TEXT PRIMARY KEY,
        head INTEGER NOT NULL,
        window_to INTEGER NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: "votes per local day for the ranking, beside the summary",
    // Kept out of `body` so listing and streaming summaries carry none of it.
    sql: "ALTER TABLE summaries ADD COLUMN calendar TEXT;",
  },
];

/**
 * The fleet view: the newest summary each location published, for
 * `GET /api/v1/locations` (paged) and `GET /api/v1/fleet/live` (one socket
 * for the whole fleet). Reading it never calls a location.
 *
 * Changes reach the sockets through an alarm `COALESCE_MS` after the first
 * unsent change: a burst of publishes is one frame. What was sent is tracked
 * by version (`sent`, stored), so no change is lost across the object's
 * restarts while sockets stay open. A socket that connects while an alarm
 * is pending may get a change both in its snapshot and in the next frame;
 * clients keep the newer summary, so that is harmless.
 */
export class Fleet extends DurableObject<Env> {
  /** Highest version given to a stored summary. */
  private version: number;
  /** Highest version the sockets have been sent (in a snapshot or a changes frame). */
  private sent: number;
  /**
   * When the coalescing alarm is due; null when none is set. Read from
   * storage once on wake, then kept here, so a publish asks storage nothing
   * to know whether an alarm is already on its way.
   */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, FLEET_MIGRATIONS);
    const sql = ctx.storage.sql;
    this.version = sql.exec<{ v: number | null }>("SELECT max(version) AS v FROM summaries").one().v ?? 0;
    this.sent = sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'sent'").toArray()[0]?.value ?? this.version;
    enablePingAutoResponse(ctx);
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Stores `summary` unless the one held is as new or newer (see
   * `supersedes`): publishing twice, or out of order, changes nothing.
   * Answers whether it was stored.
   */
  async publish(publication: FleetPublication): Promise<{ stored: boolean }> {
    // An RPC boundary like any other: what is stored must be what the contract allows.
    const parsed = fleetPublication.safeParse(publication);
    if (!parsed.success) throw new TypeError(`invalid fleet summary: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const { calendar, ...s } = parsed.data;
    const sql = this.ctx.storage.sql;
    const held = sql.exec<{ body: string }>("SELECT body FROM summaries WHERE location = ?", s.location).toArray()[0];
    if (held && !supersedes(JSON.parse(held.body) as FleetSummary, s)) return { stored: false };
    this.version++;
    sql.exec(
      `INSERT INTO summaries (location, head, window_to, version, body, calendar) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(location) DO UPDATE SET head = excluded.head, window_to = excluded.window_to, version = excluded.version, body = excluded.body, calendar = excluded.calendar`,
      s.location,
      s.head,
      Date.parse(s.window.to),
      this.version,
      JSON.stringify(s),
      calendar ? JSON.stringify(calendar) : null,
    );
    if (this.openSockets().length > 0 && this.alarmAt === null) {
      this.alarmAt = Date.now() + COALESCE_MS;
      await this.ctx.storage.setAlarm(this.alarmAt);
    }
    return { stored: true };
  }

  /** Up to `limit` summaries with names after `after` (null: from the first), in name order. */
  page(after: string | null, limit: number): FleetPage {
    const rows = this.ctx.storage.sql
      .exec<{ location: string; body: string }>("SELECT location, body FROM summaries WHERE location > ? ORDER BY location LIMIT ?", after ?? "", limit + 1)
      .toArray();
    const more = rows.length > limit;
    const shown = more ? rows.slice(0, limit) : rows;
    return { locations: shown.map(decode), next: more ? shown.at(-1)!.location : null };
  }

  /** Every location ranked by score over `period` in its own calendar, from the days each one published (domain/calendar/ranking.ts). */
  ranking(period: RankingPeriod): RankingEntry[] {
    const held = this.ctx.storage.sql
      .exec<{ body: string; calendar: string | null }>("SELECT body, calendar FROM summaries")
      .toArray()
      .map((r) => ({ summary: decode(r), calendar: r.calendar === null ? null : (JSON.parse(r.calendar) as CalendarDays) }));
    return rankLocations(held, period, Date.now());
  }

  /** Locations held (for tests and the limits in docs/ARCHITECTURE.md). */
  size(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM summaries").one().n;
  }

  /**
   * The fleet socket (the worker has checked the upgrade). The snapshot is
   * sent before this returns, with no await in between, so no change can
   * slip between it and the next `changes` frame.
   */
  override fetch(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [FLEET_TAG]);
    const all = this.ctx.storage.sql.exec<{ body: string }>("SELECT body FROM summaries ORDER BY location").toArray().map(decode);
    for (const text of fleetFrameTexts("snapshot", all)) server.send(text);
    // With no change waiting for the alarm, this snapshot is the newest anyone has been sent.
    if (this.alarmAt === null) this.markSent();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends every change since the last frame to every open socket, as one frame (or several under the size cap). */
  override alarm(): void {
    this.alarmAt = null;
    const sockets = this.openSockets();
    if (sockets.length > 0) {
      const changed = this.ctx.storage.sql
        .exec<{ body: string }>("SELECT body FROM summaries WHERE version > ? ORDER BY location", this.sent)
        .toArray()
        .map(decode);
      const texts = fleetFrameTexts("changes", changed);
      for (const ws of sockets) {
        for (const text of texts) {
          try {
            ws.send(text);
          } catch {
            // A failing peer is closed by the runtime; the others must still get the frame.
          }
        }
      }
    }
    this.markSent();
  }

  /** Fleet sockets are read-only: pings are answered by the runtime; anything else breaks the contract. */
  override webSocketMessage(ws: WebSocket): void {
    ws.close(CLOSE.policy, 'fleet sockets are read-only; send only "ping"');
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    answerClose(ws, code, reason);
  }

  override webSocketError(ws: WebSocket): void {
    closeAfterError(ws);
  }

  private openSockets(): WebSocket[] {
    return this.ctx.getWebSockets(FLEET_TAG).filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  private markSent(): void {
    if (this.sent === this.version) return;
    this.sent = this.version;
    this.ctx.storage.sql.exec("INSERT INTO meta (key, value) VALUES ('sent', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", this.sent);
  }
}

/** Rows hold summaries validated by `publish`, so they are read back without parsing again. */
const decode = (row: { body: string }): FleetSummary => JSON.parse(row.body) as FleetSummary;
