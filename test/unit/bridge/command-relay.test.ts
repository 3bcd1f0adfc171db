import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { createBridgeMetrics } from "../../../bridge/bridge-metrics";
import { CommandRelay, openHubSocket, type CommandRelayOptions, type HubSocket } from "../../../bridge/commands/command-relay";
import { CommandStore } from "../../../bridge/commands/command-store";
import { createLogger } from "../../../bridge/log";
import { Outbox } from "../../../bridge/outbox";
import { openStateDb } from "../../../bridge/state-db";
import { PING, PONG, bridgeFrame, type CommandDelivery, type HubCommand, type HubFrame } from "../../../protocol";

/**
 * The command relay's logic against a scripted commands hub (in memory,
 * speaking the contract's frames, checking every frame the relay sends
 * against the contract) and a recording publisher standing in for the broker
 * connection. The real hub, wrangler dev and mosquitto are in
 * test/node/commands-e2e.test.ts and test/node/actions-e2e.test.ts.
 */

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Listener = (e: never) => void;

/** One socket of the scripted hub; `hub` answers the frames the relay sends. */
class FakeSocket implements HubSocket {
  private readonly listeners = new Map<string, Listener[]>();
  closed: { code: number; reason: string } | null = null;
  constructor(private readonly onFrame: (socket: FakeSocket, text: string) => void) {}
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  emit(type: string, event: object = {}): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: object) => void)(event);
  }
  send(text: string): void {
    if (this.closed) return;
    this.onFrame(this, text);
  }
  /** The hub's side: a frame to the relay. */
  push(frame: HubFrame | string): void {
    if (!this.closed) setImmediate(() => this.emit("message", { data: typeof frame === "string" ? frame : JSON.stringify(frame) }));
  }
  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    this.closed = { code, reason };
    setImmediate(() => this.emit("close", { code, reason }));
  }
}

/** An in-memory hub like the worker's: an epoch, a queue with cursors, replay after the cursor, deliveries recorded. */
function scriptedHub() {
  const state = {
    epoch: randomUUID(),
    commands: [] as (HubCommand & { delivered: boolean })[],
    reports: [] as CommandDelivery[][],
    resumes: [] as { bridge: string; epoch: string; cursor: number }[],
    connects: [] as { url: string; token: string }[],
    /** Answer `recorded` to reports (false: the report is lost, as with a socket dropped in between). */
    acknowledge: true,
    /** Answer pings. */
    pong: true,
    /** Replay from 0 regardless of the cursor (a hub handing out again what the bridge recorded). */
    ignoreCursor: false,
    /** The role `resume` is answered with. */
    role: "active" as "active" | "standby",
    socket: null as FakeSocket | null,
    resumed: false,
  };
  const onFrame = (socket: FakeSocket, text: string) => {
    if (text === PING) return void (state.pong && socket.push(PONG));
    const frame = bridgeFrame.parse(JSON.parse(text)); // the relay speaks the contract, or the test fails
    if (frame.type === "resume") {
      state.resumes.push({ bridge: frame.bridge, epoch: frame.epoch, cursor: frame.cursor });
      socket.push({ type: "resumed", epoch: state.epoch, role: state.role });
      if (state.role === "standby") return;
      state.resumed = true;
      const due = state.commands.filter((c) => !c.delivered && (state.ignoreCursor || c.cursor > frame.cursor));
      if (due.length) socket.push({ type: "commands", epoch: state.epoch, commands: due.map(({ delivered: _, ...c }) => c) });
    } else {
      state.reports.push(frame.deliveries);
      if (!state.acknowledge) return;
      const recorded: { location: string; id: string }[] = [];
      const unknown: { location: string; id: string }[] = [];
      for (const d of frame.deliveries) {
        const c = state.commands.find((x) => x.location === d.location && x.id === d.id);
        if (c) (c.delivered = true), recorded.push({ location: d.location, id: d.id });
        else unknown.push({ location: d.location, id: d.id });
      }
      socket.push({ type: "recorded", recorded, unknown });
    }
  };
  const seqs = new Map<string, number>();
  return {
    state,
    open(url: string, token: string): HubSocket {
      state.connects.push({ url, token });
      const socket = new FakeSocket(onFrame);
      state.socket = socket;
      state.resumed = false;
      setImmediate(() => {
        socket.emit("open");
        socket.push({ type: "hello", epoch: state.epoch, head: state.commands.length });
      });
      return socket;
    },
    /** A location issues a command; pushed at once to a resumed socket. */
    issue(location: string, deviceId: string, payload = "ON"): HubCommand {
      const seq = (seqs.get(location) ?? 0) + 5;
      seqs.set(location, seq);
      const c = { cursor: state.commands.length + 1, location, seq, id: `~cmd-${seq}`, deviceId, payload, ruleId: "low-score", issuedAt: new Date().toISOString() };
      state.commands.push({ ...c, delivered: false });
      if (state.resumed && state.socket && !state.socket.closed) state.socket.push({ type: "commands", epoch: state.epoch, commands: [c] });
      return c;
    },
    /** The worker's state wiped: a new epoch, an empty queue, the locations' ids starting over. */
    wipe(): void {
      state.epoch = randomUUID();
      state.commands = [];
      seqs.clear();
      state.socket?.close(1001, "restarting");
    },
    delivered: () => state.commands.filter((c) => c.delivered).map((c) => `${c.location}/${c.id}`),
  };
}

/** Stands in for the broker connection: records each publish; can be told to fail or never acknowledge. */
function recordingPublisher() {
  const published: { topic: string; payload: string }[] = [];
  let behaviour: "ack" | "hang" | "fail" = "ack";
  return {
    published,
    set: (b: typeof behaviour) => (behaviour = b),
    publish: async (topic: string, payload: string) => {
      if (behaviour === "fail") throw new Error("broker said no");
      if (behaviour === "hang") return new Promise<void>(() => {});
      published.push({ topic, payload });
    },
  };
}

function openDb(dir: string): DatabaseSync {
  const db = openStateDb(dir, "normal");
  cleanups.push(() => {
    if (db.isOpen) db.close();
  });
  return db;
}

const options: CommandRelayOptions = {
  commandsUrl: "http://hub.test/api/v1/commands/live",
  token: "tok",
  bridge: "bridge-1",
  keepaliveMs: 1_000,
  timeoutMs: 2_000,
  retry: { minMs: 10, maxMs: 50 },
};

function relayFor(open: (url: string, token: string) => HubSocket, publish: (t: string, p: string) => Promise<void>, db: DatabaseSync, overrides: Partial<CommandRelayOptions> = {}) {
  const metrics = createBridgeMetrics({ outboxDepth: () => 0, sourceConnected: () => true });
  const logs: { level: string; msg: string; [k: string]: unknown }[] = [];
  const log = createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) });
  const store = new CommandStore(db);
  const relay = new CommandRelay(store, publish, { ...options, ...overrides }, metrics, log, open);
  cleanups.push(() => relay.stop());
  return { relay, store, metrics, logs };
}

const until = async (what: string, cond: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("command relay", () => {
  it("resumes, publishes each pushed command QoS 1 to its devicebound topic, reports it and forgets it once recorded", async () => {
    const hub = scriptedHub();
    const pub = recordingPublisher();
    const h = relayFor((u, t) => hub.open(u, t), pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    h.relay.start();
    await until("resumed", () => h.relay.role === "active");
    expect(hub.state.connects).toEqual([{ url: "ws://hub.test/api/v1/commands/live", token: "tok" }]);
    expect(hub.state.resumes).toEqual([{ bridge: "bridge-1", epoch: hub.state.epoch, cursor: 0 }]);

    hub.issue("東京", "led-1");
    hub.issue("Zürich", "led-2", "OFF");
    await until("both recorded by the hub", () => hub.delivered().length === 2);
    expect(pub.published).toEqual([
      { topic: "devices/led-1/messages/devicebound/%24.mid=~cmd-5", payload: "ON" },
      { topic: "devices/led-2/messages/devicebound/%24.mid=~cmd-5", payload: "OFF" },
    ]);
    expect(hub.state.reports.flat().map((d) => `${d.location}/${d.id}`)).toEqual(["東京/~cmd-5", "Zürich/~cmd-5"]);
    await until("forgotten", () => h.store.pendingCount === 0);
    expect(h.relay.cursor).toBe(2);
    expect(h.relay.epoch).toBe(hub.state.epoch);
    expect(h.relay.lastCommandAt).not.toBeNull();
    expect(h.metrics.commandsPublished.value()).toBe(2);
    expect(h.metrics.commandReports.value({ result: "recorded" })).toBe(2);
  });

  it("after a restart it resumes from the saved cursor and reports what the hub never acknowledged, publishing nothing twice", async () => {
    const hub = scriptedHub();
    const pub = recordingPublisher();
    const dir = mkdtempSync(join(tmpdir(), "relay-"));
    const firstDb = openDb(dir);
    const first = relayFor((u, t) => hub.open(u, t), pub.publish, firstDb);
    first.relay.start();
    await until("resumed", () => first.relay.role === "active");
    hub.state.acknowledge = false; // the report is lost
    hub.issue("MTC", "d1");
    await until("reported", () => hub.state.reports.length === 1);
    await first.relay.stop();
    expect(first.store.pendingCount).toBe(1);
    firstDb.close(); // as the bridge does on stop: the next one locks the state directory

    hub.state.acknowledge = true;
    hub.state.ignoreCursor = true; // and the hub hands it out again
    const second = relayFor((u, t) => hub.open(u, t), pub.publish, openDb(dir));
    second.relay.start();
    await until("recorded", () => hub.delivered().length === 1);
    await until("forgotten", () => second.store.pendingCount === 0);
    expect(hub.state.resumes.at(-1)).toEqual({ bridge: "bridge-1", epoch: hub.state.epoch, cursor: 1 });
    expect(pub.published).toHaveLength(1);
    expect(second.metrics.commandsSkipped.value()).toBe(1);
  });

  it("a new epoch (the worker's state wiped): starts over from 0 and publishes the new epoch's ~cmd-5 although the old one is still recorded", async () => {
    const hub = scriptedHub();
    const pub = recordingPublisher();
    const h = relayFor((u, t) => hub.open(u, t), pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    h.relay.start();
    await until("resumed", () => h.relay.role === "active");
    const oldEpoch = hub.state.epoch;
    hub.state.acknowledge = false;
    hub.issue("MTC", "d1");
    await until("reported", () => hub.state.reports.length === 1);
    expect(h.store.pendingCount).toBe(1); // recorded, unacknowledged: MTC/~cmd-5 of the old epoch

    hub.state.acknowledge = true;
    hub.wipe();
    await until("resumed in the new epoch", () => hub.state.resumes.length === 2 && h.relay.role === "active");
    expect(hub.state.resumes[1]).toEqual({ bridge: "bridge-1", epoch: hub.state.epoch, cursor: 0 });
    expect(hub.state.epoch).not.toBe(oldEpoch);
    expect(h.store.pendingCount, "the old epoch's record is dropped").toBe(0);
    hub.issue("MTC", "d1");
    await until("recorded", () => hub.delivered().length === 1);
    expect(pub.published.map((p) => p.topic)).toEqual(["devices/d1/messages/devicebound/%24.mid=~cmd-5", "devices/d1/messages/devicebound/%24.mid=~cmd-5"]);
    expect(h.metrics.commandEpochChanges.value()).toBe(1);
    expect(h.logs.some((l) => l.level === "warn" && l.msg.startsWith("the commands hub has a new epoch"))).toBe(true);
  });

  it("a frame off the contract ends the session; the relay reconnects with backoff and carries on", async () => {
    const hub = scriptedHub();
    const pub = recordingPublisher();
    const h = relayFor((u, t) => hub.open(u, t), pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    h.relay.start();
    await until("resumed", () => h.relay.role === "active");
    hub.state.socket!.push(JSON.stringify({ type: "commands", epoch: hub.state.epoch, commands: [{ id: "nope" }] }));
    await until("reconnected", () => hub.state.connects.length === 2 && h.relay.role === "active");
    expect(hub.state.socket === null).toBe(false);
    expect(h.metrics.commandFeedFailures.value()).toBe(1);
    expect(h.relay.lastError).toMatch(/^the commands hub sent a frame that does not match the contract: commands\.0\./);
    expect(h.relay.failures).toBe(0); // answered again
    hub.issue("MTC", "d1");
    await until("delivered", () => hub.delivered().length === 1);
  });

  it("stands by while another bridge holds the feed, and delivers once the hub says it is active", async () => {
    const hub = scriptedHub();
    hub.state.role = "standby";
    const pub = recordingPublisher();
    const h = relayFor((u, t) => hub.open(u, t), pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    h.relay.start();
    await until("standing by", () => h.relay.role === "standby");
    expect(h.relay.connected).toBe(true);
    hub.state.socket!.push({ type: "resumed", epoch: hub.state.epoch, role: "active" });
    await until("active", () => h.relay.role === "active");
    hub.state.resumed = true;
    hub.issue("MTC", "d1");
    await until("delivered", () => hub.delivered().length === 1);
    expect(pub.published).toHaveLength(1);
    expect(hub.state.connects).toHaveLength(1);
  });

  it("a dead connection (no pong for twice the keep-alive) is dropped and opened again", async () => {
    const hub = scriptedHub();
    const h = relayFor((u, t) => hub.open(u, t), recordingPublisher().publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))), { keepaliveMs: 30 });
    h.relay.start();
    await until("resumed", () => h.relay.role === "active");
    await new Promise((r) => setTimeout(r, 150));
    expect(hub.state.connects, "pings answered: one connection").toHaveLength(1);
    hub.state.pong = false;
    await until("reconnected", () => hub.state.connects.length === 2, 2_000);
    expect(h.relay.lastError).toMatch(/^no answer from ws:\/\/hub\.test\/api\/v1\/commands\/live for 60 ms$/);
  });

  it("stop() does not wait for ever on a publish the broker never acknowledges; nothing is recorded for it", async () => {
    const hub = scriptedHub();
    const pub = recordingPublisher();
    const h = relayFor((u, t) => hub.open(u, t), pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    h.relay.start();
    await until("resumed", () => h.relay.role === "active");
    pub.set("hang");
    const c = hub.issue("MTC", "d1");
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await h.relay.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(h.store.deliveredAt(hub.state.epoch, "MTC", c.id)).toBeNull();
    expect(hub.state.reports).toEqual([]);
    expect(h.metrics.commandFeedFailures.value()).toBe(0); // stopping is not a failure
    expect(hub.state.socket!.closed).toEqual({ code: 1000, reason: "bridge stopping" });
  });

  it("a refused token: the real WebSocket fails to open, one plain request says why, and the relay keeps retrying", async () => {
    const seen: { method: string; upgrade: string | undefined; authorization: string | undefined }[] = [];
    const server = createServer((req, res) => {
      seen.push({ method: req.method!, upgrade: req.headers.upgrade, authorization: req.headers.authorization });
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid bearer token", issues: [] }));
    });
    // Node answers an upgrade request nobody takes by closing it: the socket fails like a refused upgrade.
    server.on("upgrade", (req, socket) => {
      seen.push({ method: "UPGRADE", upgrade: req.headers.upgrade, authorization: req.headers.authorization });
      socket.end("HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/commands/live`;
    const h = relayFor(openHubSocket, recordingPublisher().publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))), { commandsUrl: url, token: "wrong" });
    h.relay.start();
    await until("two failed attempts", () => h.relay.failures >= 2);
    expect(h.relay.lastError).toBe(`connect ${url.replace("http", "ws")}: 401 invalid bearer token`);
    expect(seen[0]).toEqual({ method: "UPGRADE", upgrade: "websocket", authorization: "Bearer wrong" });
    expect(seen[1]).toEqual({ method: "GET", upgrade: undefined, authorization: "Bearer wrong" });
    const errors = h.logs.filter((l) => l.level === "error").map((l) => l.msg);
    expect(errors[0]).toBe("the worker refused the token of the commands socket; check INGEST_TOKEN");
    expect(h.relay.connected).toBe(false);
  });
});

describe("command store", () => {
  it("writes after an open outbox transaction ends, so a rollback of that transaction cannot take a delivery with it", async () => {
    const db = openDb(mkdtempSync(join(tmpdir(), "store-")));
    const outbox = new Outbox(db);
    const store = new CommandStore(db);
    await store.adopt("e1");
    outbox.begin();
    outbox.add('{"id":"x"}');
    const recorded = store.recordDelivery("e1", { location: "MTC", id: "~cmd-1", deliveredAt: new Date().toISOString() }, 1);
    setImmediate(() => outbox.rollback()); // the end of the MQTT source's turn, here failing
    await recorded;
    expect(db.isTransaction).toBe(false);
    expect(store.deliveredAt("e1", "MTC", "~cmd-1")).not.toBeNull();
    expect(store.position).toEqual({ epoch: "e1", cursor: 1 });
    expect(outbox.depth).toBe(0);
  });

  it("keeps the position and unreported deliveries across a reopen, per epoch; a new epoch starts over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "store-"));
    let db = openDb(dir);
    let store = new CommandStore(db);
    expect(store.position).toEqual({ epoch: null, cursor: 0 });
    expect(await store.adopt("e1")).toBe(0);
    const a = { location: "MTC", id: "~cmd-1", deliveredAt: "2025-01-01T00:00:00.000Z" };
    const b = { location: "Paoli", id: "~cmd-1", deliveredAt: "2025-01-01T00:00:01.000Z" };
    await store.recordDelivery("e1", b, 2);
    await store.recordDelivery("e1", a, 1); // an older cursor never moves it back
    await store.recordDelivery("e1", a, 1); // again: still one
    expect(store.pendingReports("e1")).toEqual([a, b]); // oldest first
    await store.reported("e1", [a]);
    db.close();
    db = openDb(dir);
    store = new CommandStore(db);
    expect(store.position).toEqual({ epoch: "e1", cursor: 2 });
    expect(await store.adopt("e1")).toBeNull(); // the same epoch: nothing changes
    expect(store.deliveredAt("e1", "MTC", "~cmd-1")).toBeNull();
    expect(store.deliveredAt("e1", "Paoli", "~cmd-1")).toBe(b.deliveredAt); // same id, other location: its own command
    expect(store.deliveredAt("e2", "Paoli", "~cmd-1"), "another epoch's ~cmd-1 is another command").toBeNull();
    expect(await store.adopt("e2")).toBe(1);
    expect(store.position).toEqual({ epoch: "e2", cursor: 0 });
    expect(store.pendingCount).toBe(0);
  });
});
