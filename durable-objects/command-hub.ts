import { DurableObject } from "cloudflare:workers";
import {
  COMMAND_HUB_LIMITS,
  CLOSE,
  HUB_CLOSE,
  PING,
  PONG,
  bridgeFrame,
  formatIssues,
  type Command,
  type CommandDelivery,
  type HubCommand,
  type HubFrame,
} from "../protocol";
import { isoString } from "../protocol/time";
import { forwardRetryMs, handOut, leaseEnd, type QueuedCommand } from "../domain/command-hub";
import { answerClose, closeAfterError } from "./location/live-sockets";
import { migrate } from "./migrations";

/** The one hub's name. */
export const COMMAND_HUB_NAME = "commands";

/** Tag of bridge sockets. */
const BRIDGE_TAG = "bridge";

/** What a bridge socket remembers across hibernation. */
interface BridgeAttachment {
  connectedAt: number;
  /** Set by its `resume`. */
  bridge: string | null;
  cursor: number;
  /** `active` holds the feed; `standby` waits for it; `new` has not resumed yet. */
  role: "new" | "active" | "standby";
}

type Row = {
  seq: number;
  location: string;
  id: string;
  location_seq: number;
  device_id: string;
  payload: string;
  rule_id: string | null;
  issued_at: number;
  sent_to: string | null;
  sent_at: number | null;
};

export interface EnqueueResult {
  accepted: number;
  duplicates: number;
}

/**
 * The fleet-wide queue of undelivered commands, and the bridge's one socket.
 * Locations hand it their new commands (`enqueue`, idempotent by location and
 * command id); it pushes each to the bridge holding the feed at once, takes
 * the bridge's delivery reports over the same socket, and forwards them to
 * each location's `recordDeliveries` from its alarm until that succeeds.
 *
 * Idle, it costs nothing: pings are answered by the runtime
 * (`setWebSocketAutoResponse`), so the object stays hibernated, and no
 * location is called. Its alarm is set only while deliveries wait to be
 * forwarded or a command waits for a lease to run out.
 *
 * The epoch is a random id made with the storage: a bridge that saved another
 * one learns the state was wiped and starts over instead of skipping.
 */
export class CommandHub extends DurableObject<Env> {
  private readonly epoch: string;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, [
      {
        version: 1,
        description: "epoch, command queue, deliveries owed to locations",
        sql: `
          CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
          CREATE TABLE commands (
            seq INTEGER PRIMARY KEY,
            location TEXT NOT NULL,
            id TEXT NOT NULL,
            location_seq INTEGER NOT NULL,
            device_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            rule_id TEXT,
            issued_at INTEGER NOT NULL,
            sent_to TEXT,
            sent_at INTEGER,
            delivered_at INTEGER,
            UNIQUE (location, id)
          );
          CREATE INDEX commands_undelivered ON commands (seq) WHERE delivered_at IS NULL;
          CREATE TABLE forwards (
            location TEXT NOT NULL,
            id TEXT NOT NULL,
            delivered_at INTEGER NOT NULL,
            PRIMARY KEY (location, id)
          ) WITHOUT ROWID;
        `,
      },
    ]);
    const sql = ctx.storage.sql;
    sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)", crypto.randomUUID());
    this.epoch = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'epoch'").one().value;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /**
   * Takes a location's new commands (already committed in its log). A command
   * known by (location, id) is a duplicate: the location may call again after
   * a failure without anything being queued twice.
   */
  enqueue(location: string, commands: Omit<Command, "location">[]): EnqueueResult {
    const sql = this.ctx.storage.sql;
    let accepted = 0;
    this.ctx.storage.transactionSync(() => {
      for (const c of commands) {
        const cursor = sql.exec(
          "INSERT INTO commands (location, id, location_seq, device_id, payload, rule_id, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (location, id) DO NOTHING",
          location,
          c.id,
          c.seq,
          c.deviceId,
          c.payload,
          c.ruleId,
          Date.parse(c.issuedAt),
        );
        accepted += cursor.rowsWritten > 0 ? 1 : 0;
      }
    });
    if (accepted > 0) {
      const active = this.activeSocket();
      if (active) this.handOut(active);
    }
    return { accepted, duplicates: commands.length - accepted };
  }

  /** Counts for tests and diagnostics. */
  state(): { epoch: string; head: number; undelivered: number; forwards: number; bridges: { bridge: string | null; role: string }[] } {
    const sql = this.ctx.storage.sql;
    return {
      bridges: this.sockets().map((s) => {
        const a = s.deserializeAttachment() as BridgeAttachment;
        return { bridge: a.bridge, role: a.role };
      }),
      epoch: this.epoch,
      head: this.head(),
      undelivered: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM commands WHERE delivered_at IS NULL").one().n,
      forwards: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM forwards").one().n,
    };
  }

  /** The bridge's socket; the worker has checked the token and the upgrade. */
  override async fetch(_request: Request): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [BRIDGE_TAG]);
    server.serializeAttachment({ connectedAt: Date.now(), bridge: null, cursor: 0, role: "new" } satisfies BridgeAttachment);
    send(server, { type: "hello", epoch: this.epoch, head: this.head() });
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    if (typeof message !== "string") return this.refuse(ws, "frames are JSON text");
    if (message.length > COMMAND_HUB_LIMITS.maxFrameChars) return this.refuse(ws, `frame longer than ${COMMAND_HUB_LIMITS.maxFrameChars} characters`);
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return this.refuse(ws, "frame is not JSON");
    }
    const parsed = bridgeFrame.safeParse(json);
    if (!parsed.success) return this.refuse(ws, formatIssues(parsed.error).join("; "));
    const frame = parsed.data;
    const at = ws.deserializeAttachment() as BridgeAttachment;
    if (frame.type === "resume") {
      if (at.role !== "new") return this.refuse(ws, "resume only once per socket");
      if (frame.epoch !== this.epoch) return this.refuse(ws, "resume with the epoch of hello");
      if (frame.cursor > this.head()) return this.refuse(ws, `cursor ${frame.cursor} is past the hub's head ${this.head()}`);
      this.resume(ws, frame.bridge, frame.cursor);
    } else {
      if (at.role === "new") return this.refuse(ws, "resume first");
      this.recordDeliveries(ws, frame.deliveries);
    }
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.left(ws);
    answerClose(ws, code, reason);
  }

  override webSocketError(ws: WebSocket): void {
    this.left(ws);
    closeAfterError(ws);
  }

  /**
   * Forwards waiting deliveries to their locations (each location's share in
   * one call; a failure keeps its share for the next alarm, with backoff), and
   * hands out commands whose lease ran out. Sets the next alarm only when
   * something is still waiting.
   */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const rows = sql.exec<{ location: string; id: string; delivered_at: number }>("SELECT location, id, delivered_at FROM forwards ORDER BY location").toArray();
    const byLocation = new Map<string, { id: string; deliveredAt: number }[]>();
    for (const r of rows) {
      const list = byLocation.get(r.location) ?? [];
      list.push({ id: r.id, deliveredAt: r.delivered_at });
      byLocation.set(r.location, list);
    }
    let failed = 0;
    await Promise.all(
      [...byLocation].map(async ([location, list]) => {
        try {
          const stub = this.env.LOCATIONS.get(this.env.LOCATIONS.idFromName(location));
          await stub.recordDeliveries(location, list);
          this.ctx.storage.transactionSync(() => {
            for (const d of list) sql.exec("DELETE FROM forwards WHERE location = ? AND id = ?", location, d.id);
          });
        } catch (error) {
          failed++;
          console.error(JSON.stringify({ level: "warn", msg: "forwarding deliveries to a location failed; retrying", location, error: String(error) }));
        }
      }),
    );
    const attempts = failed > 0 ? Number(this.meta("forward_attempts") ?? 0) + 1 : 0;
    sql.exec("INSERT INTO meta (key, value) VALUES ('forward_attempts', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", String(attempts));
    const active = this.activeSocket();
    const held = active ? this.handOut(active) : null;
    const next = [failed > 0 ? Date.now() + forwardRetryMs(attempts - 1) : null, held].filter((t): t is number => t !== null);
    if (next.length > 0) await this.ctx.storage.setAlarm(Math.min(...next));
  }

  private resume(ws: WebSocket, bridge: string, cursor: number): void {
    // The same bridge again (a restart before its old socket was seen to close): the old socket gives way.
    for (const other of this.sockets()) {
      if (other === ws) continue;
      const a = other.deserializeAttachment() as BridgeAttachment;
      if (a.bridge === bridge) {
        other.serializeAttachment({ ...a, role: "standby" } satisfies BridgeAttachment);
        try {
          other.close(HUB_CLOSE.replaced, "replaced by a newer connection of the same bridge");
        } catch {
          // Already closing.
        }
      }
    }
    const role = this.activeSocket() ? "standby" : "active";
    ws.serializeAttachment({ connectedAt: Date.now(), bridge, cursor, role } satisfies BridgeAttachment);
    send(ws, { type: "resumed", epoch: this.epoch, role });
    if (role === "active") this.scheduleLease(this.handOut(ws));
  }

  /**
   * Sends `ws` (the active bridge) every command it should have now, in seq
   * order and pages, marking them handed to it. Returns when the first
   * command held for another bridge is free (null: none held).
   */
  private handOut(ws: WebSocket): number | null {
    const at = ws.deserializeAttachment() as BridgeAttachment;
    const bridge = at.bridge!;
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    const rows = sql.exec<Row>("SELECT * FROM commands WHERE delivered_at IS NULL ORDER BY seq").toArray();
    const toSend: Row[] = [];
    const held: QueuedCommand[] = [];
    for (const r of rows) {
      const c = { seq: r.seq, sentTo: r.sent_to, sentAt: r.sent_at };
      const verdict = handOut(c, bridge, at.cursor, now);
      // Sent on this very socket already (since its resume): not again.
      const onThisSocket = r.sent_to === bridge && r.sent_at !== null && r.sent_at >= at.connectedAt;
      if (verdict === "send" && !onThisSocket) toSend.push(r);
      else if (verdict === "held") held.push(c);
    }
    if (toSend.length > 0) {
      this.ctx.storage.transactionSync(() => {
        for (const r of toSend) sql.exec("UPDATE commands SET sent_to = ?, sent_at = ? WHERE seq = ?", bridge, now, r.seq);
      });
      for (let i = 0; i < toSend.length; i += COMMAND_HUB_LIMITS.framePage) {
        send(ws, { type: "commands", epoch: this.epoch, commands: toSend.slice(i, i + COMMAND_HUB_LIMITS.framePage).map(toHubCommand) });
      }
    }
    return leaseEnd(held);
  }

  /** Marks deliveries, queues them for their locations, and tells the bridge it may forget them. */
  private recordDeliveries(ws: WebSocket, deliveries: CommandDelivery[]): void {
    const sql = this.ctx.storage.sql;
    const recorded: { location: string; id: string }[] = [];
    const unknown: { location: string; id: string }[] = [];
    let queued = 0;
    this.ctx.storage.transactionSync(() => {
      for (const d of deliveries) {
        const row = sql.exec<{ delivered_at: number | null }>("SELECT delivered_at FROM commands WHERE location = ? AND id = ?", d.location, d.id).toArray()[0];
        if (!row) {
          unknown.push({ location: d.location, id: d.id });
          continue;
        }
        recorded.push({ location: d.location, id: d.id });
        if (row.delivered_at !== null) continue; // a repeated report
        const at = Date.parse(d.deliveredAt);
        sql.exec("UPDATE commands SET delivered_at = ? WHERE location = ? AND id = ?", at, d.location, d.id);
        sql.exec("INSERT OR IGNORE INTO forwards (location, id, delivered_at) VALUES (?, ?, ?)", d.location, d.id, at);
        queued++;
      }
    });
    send(ws, { type: "recorded", recorded, unknown });
    if (queued > 0) void this.ctx.storage.setAlarm(Date.now());
  }

  /** A socket closed: its commands' leases start now; if it held the feed, the oldest waiting bridge takes it. */
  private left(ws: WebSocket): void {
    const at = ws.deserializeAttachment() as BridgeAttachment | null;
    if (!at || at.bridge === null) return;
    ws.serializeAttachment({ ...at, role: "standby" } satisfies BridgeAttachment);
    const others = this.sockets().filter((s) => s !== ws);
    // Unless the same bridge is still (or again) connected, its unreported commands wait LEASE_MS from now for it.
    if (!others.some((s) => (s.deserializeAttachment() as BridgeAttachment).bridge === at.bridge)) {
      this.ctx.storage.sql.exec("UPDATE commands SET sent_at = ? WHERE sent_to = ? AND delivered_at IS NULL", Date.now(), at.bridge);
    }
    // Only the active socket's leaving hands the feed on (and only if no other took it meanwhile).
    if (at.role !== "active" || others.some((s) => (s.deserializeAttachment() as BridgeAttachment).role === "active")) return;
    const next = others
      .filter((s) => (s.deserializeAttachment() as BridgeAttachment).role === "standby")
      .sort((a, b) => (a.deserializeAttachment() as BridgeAttachment).connectedAt - (b.deserializeAttachment() as BridgeAttachment).connectedAt)[0];
    if (!next) return;
    next.serializeAttachment({ ...(next.deserializeAttachment() as BridgeAttachment), role: "active" } satisfies BridgeAttachment);
    send(next, { type: "resumed", epoch: this.epoch, role: "active" });
    this.scheduleLease(this.handOut(next));
  }

  /** Closes with 1008 and the reason (cut to the 123 bytes a close frame allows); the feed passes on if it held it. */
  private refuse(ws: WebSocket, reason: string): void {
    this.left(ws);
    let text = reason;
    while (new TextEncoder().encode(text).length > 123) text = text.slice(0, -2) + "…";
    try {
      ws.close(CLOSE.policy, text);
    } catch {
      // Already closing.
    }
  }

  private scheduleLease(at: number | null): void {
    if (at === null) return;
    void (async () => {
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    })();
  }

  private sockets(): WebSocket[] {
    return this.ctx.getWebSockets(BRIDGE_TAG).filter((s) => s.readyState === WebSocket.OPEN);
  }

  private activeSocket(): WebSocket | undefined {
    return this.sockets().find((s) => (s.deserializeAttachment() as BridgeAttachment).role === "active");
  }

  private head(): number {
    return this.ctx.storage.sql.exec<{ head: number | null }>("SELECT MAX(seq) AS head FROM commands").one().head ?? 0;
  }

  private meta(key: string): string | null {
    return this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }
}

const send = (ws: WebSocket, frame: HubFrame): void => ws.send(JSON.stringify(frame));


const toHubCommand = (r: Row): HubCommand => ({
  cursor: r.seq,
  location: r.location,
  seq: r.location_seq,
  id: r.id,
  deviceId: r.device_id,
  payload: r.payload,
  ruleId: r.rule_id,
  issuedAt: isoString(r.issued_at),
});
