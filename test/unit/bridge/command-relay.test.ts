import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { createBridgeMetrics } from "../../../bridge/bridge-metrics";
import { CommandRelay, type CommandRelayOptions } from "../../../bridge/commands/command-relay";
import { CommandStore, type Delivery } from "../../../bridge/commands/command-store";
import { createLogger } from "../../../bridge/log";
import { Outbox } from "../../../bridge/outbox";
import { openStateDb } from "../../../bridge/state-db";
import { deliveriesBody, type Command } from "../../../protocol";

/**
 * The command relay's logic against a scripted command feed (a local HTTP
 * server keeping commands and deliveries the way the worker's feed does, and
 * failing when the test says so) and a recording publisher standing in for
 * the broker connection. The real worker and mosquitto are in
 * test/node/actions-e2e.test.ts.
 */

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Failure = { status: number; body?: string; headers?: Record<string, string> } | "close";

/** A feed like the worker's: undelivered commands after a per-location cursor; deliveries recorded once. */
async function scriptedFeed() {
  const commands: (Command & { delivered: boolean })[] = [];
  const seqs = new Map<string, number>();
  const reports: Delivery[][] = [];
  const gets: string[] = [];
  const auth: (string | undefined)[] = [];
  const fail: { get?: Failure; post?: Failure } = {};
  const reply = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(typeof body === "string" ? body : JSON.stringify(body));
  const failWith = (req: IncomingMessage, res: ServerResponse, f: Failure) => (f === "close" ? req.socket.destroy() : reply(res, f.status, f.body ?? { error: "scripted failure", issues: [] }, f.headers));

  const server = createServer(async (req, res) => {
    auth.push(req.headers.authorization);
    const url = new URL(req.url!, "http://x");
    if (req.method === "GET" && url.pathname === "/api/v1/commands") {
      gets.push(url.searchParams.get("cursor") ?? "");
      if (fail.get) return failWith(req, res, fail.get);
      const cursor: Record<string, number> = url.searchParams.get("cursor") ? JSON.parse(atob(url.searchParams.get("cursor")!)) : {};
      const page = commands.filter((c) => !c.delivered && c.seq > (cursor[c.location] ?? 0));
      for (const c of page) cursor[c.location] = c.seq;
      return reply(res, 200, { commands: page.map(({ delivered: _, ...c }) => c), cursor: btoa(JSON.stringify(cursor)) });
    }
    if (req.method === "POST" && url.pathname === "/api/v1/commands/deliveries") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (fail.post) return failWith(req, res, fail.post);
      const { deliveries } = deliveriesBody.parse(JSON.parse(Buffer.concat(chunks).toString()));
      reports.push(deliveries);
      const result = { recorded: 0, duplicates: 0, unknown: [] as { location: string; id: string }[] };
      for (const d of deliveries) {
        const c = commands.find((x) => x.location === d.location && x.id === d.id);
        if (!c) result.unknown.push({ location: d.location, id: d.id });
        else if (c.delivered) result.duplicates++;
        else (c.delivered = true), result.recorded++;
      }
      return reply(res, 200, result);
    }
    reply(res, 404, { error: `no route for ${url.pathname}`, issues: [] });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/commands`,
    commands,
    reports,
    gets,
    auth,
    fail,
    issue(location: string, deviceId: string, payload = "ON"): Command {
      const seq = (seqs.get(location) ?? 0) + 1;
      seqs.set(location, seq);
      const c = { location, seq, id: `~cmd-${seq}`, deviceId, payload, ruleId: "low-score", issuedAt: new Date().toISOString() };
      commands.push({ ...c, delivered: false });
      return c;
    },
    delivered: () => commands.filter((c) => c.delivered).map((c) => `${c.location}/${c.id}`),
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

function relayFor(url: string, publish: (t: string, p: string) => Promise<void>, db: DatabaseSync, options: Partial<CommandRelayOptions> = {}) {
  const metrics = createBridgeMetrics({ outboxDepth: () => 0, sourceConnected: () => true });
  const logs: { level: string; msg: string; [k: string]: unknown }[] = [];
  const log = createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) });
  const store = new CommandStore(db);
  const relay = new CommandRelay(store, publish, { commandsUrl: url, token: "tok", pollMs: 10, timeoutMs: 2_000, retry: { minMs: 10, maxMs: 50 }, ...options }, metrics, log);
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

describe("command relay (scripted feed endpoint, recording publisher)", () => {
  it("publishes each command QoS 1 to its devicebound topic with $.mid, in order, reports it and follows the cursor", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const { relay, metrics, logs } = relayFor(feed.url, pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    feed.issue("MTC", "sim-mtc-1", "ON");
    feed.issue("Paoli", "dev.7", "OFF");
    feed.issue("MTC", "sim-mtc-1", "OFF");

    expect(await relay.pollOnce()).toBe(3);
    // In the feed's order (per device, the order of issue).
    expect(pub.published).toEqual([
      { topic: "devices/sim-mtc-1/messages/devicebound/%24.mid=~cmd-1", payload: "ON" },
      { topic: "devices/dev.7/messages/devicebound/%24.mid=~cmd-1", payload: "OFF" },
      { topic: "devices/sim-mtc-1/messages/devicebound/%24.mid=~cmd-2", payload: "OFF" },
    ]);
    expect(feed.delivered().sort()).toEqual(["MTC/~cmd-1", "MTC/~cmd-2", "Paoli/~cmd-1"]);
    expect(feed.reports).toHaveLength(1);
    expect(feed.reports[0]!.every((d) => Date.parse(d.deliveredAt) <= Date.now())).toBe(true);
    expect(feed.auth.every((a) => a === "Bearer tok")).toBe(true);
    expect(metrics.commandsPublished.value()).toBe(3);
    expect(metrics.commandReports.value({ result: "recorded" })).toBe(3);
    expect(logs.filter((l) => l.msg === "command delivered").map((l) => [l.deviceId, l.commandId, l.payload, l.location])).toContainEqual([
      "sim-mtc-1",
      "~cmd-2",
      "OFF",
      "MTC",
    ]);

    // The next poll starts after the cursor: nothing again.
    expect(await relay.pollOnce()).toBe(0);
    expect(feed.gets.at(-1)).not.toBe("");
    expect(pub.published).toHaveLength(3);
  });

  it("a delivery whose report failed is reported later; the command is never published twice", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const h = relayFor(feed.url, pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    feed.issue("MTC", "d1");
    feed.fail.post = { status: 503 };
    await expect(h.relay.pollOnce()).rejects.toThrow(/answered 503: scripted failure/);
    expect(pub.published).toHaveLength(1);
    expect(h.store.pendingReports()).toEqual([{ location: "MTC", id: "~cmd-1", deliveredAt: expect.any(String) }]);
    expect(h.store.cursor).not.toBe(""); // saved before reporting: the feed will not hand it out again

    await expect(h.relay.pollOnce()).rejects.toThrow(/503/);
    delete feed.fail.post;
    feed.issue("MTC", "d1", "OFF");
    expect(await h.relay.pollOnce()).toBe(1);
    expect(pub.published.map((p) => p.payload)).toEqual(["ON", "OFF"]);
    expect(feed.delivered()).toEqual(["MTC/~cmd-1", "MTC/~cmd-2"]);
    expect(h.store.pendingCount).toBe(0);
    expect(h.metrics.commandsSkipped.value()).toBe(0);
  });

  it("after dying between a PUBACK and saving the cursor, a restart on the same state reports the command instead of publishing it again", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const dir = mkdtempSync(join(tmpdir(), "relay-"));
    const db = openDb(dir);
    feed.issue("MTC", "d1");
    feed.issue("MTC", "d2");
    // The broker acknowledges the first publish, then never the second: the round does not finish, and the process dies.
    let publishes = 0;
    const dying = async (topic: string, payload: string) => {
      if (++publishes === 2) return new Promise<void>(() => {});
      await pub.publish(topic, payload);
    };
    const crashed = relayFor(feed.url, dying, db);
    void crashed.relay.pollOnce().catch(() => {}); // ends with "stopped" at clean-up
    await until("the first publish", () => pub.published.length === 1);
    await until("its record", () => crashed.store.delivered("MTC", "~cmd-1"));
    expect(crashed.store.cursor).toBe("");
    db.close();

    const second = relayFor(feed.url, pub.publish, openDb(dir));
    expect(await second.relay.pollOnce()).toBe(2);
    expect(pub.published.map((p) => p.topic)).toEqual([
      "devices/d1/messages/devicebound/%24.mid=~cmd-1",
      "devices/d2/messages/devicebound/%24.mid=~cmd-2",
    ]);
    expect(second.metrics.commandsSkipped.value()).toBe(1);
    expect(second.logs.some((l) => l.msg.startsWith("command already published"))).toBe(true);
    expect(feed.delivered()).toEqual(["MTC/~cmd-1", "MTC/~cmd-2"]);
    expect(second.store.pendingCount).toBe(0);
  });

  it("keeps polling while the worker is down, with backoff and a clear last error, then delivers", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const { relay, metrics, logs } = relayFor(feed.url, pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    feed.fail.get = "close";
    feed.issue("Malvern", "m-1");
    relay.start();
    await until("three failures", () => relay.failures >= 3);
    expect(relay.lastError).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/commands\?cursor=: /);
    expect(relay.lastErrorAt).not.toBeNull();
    expect(metrics.commandFeedFailures.value()).toBeGreaterThanOrEqual(3);
    expect(logs.filter((l) => l.level === "warn" && l.msg === "command relay failed; retrying")).toHaveLength(1); // the same error again is not warned again
    expect(pub.published).toEqual([]);

    delete feed.fail.get;
    await until("the delivery", () => feed.delivered().length === 1);
    await until("the failure count reset", () => relay.failures === 0);
    expect(pub.published).toHaveLength(1);
    expect(logs.some((l) => l.msg === "command feed recovered")).toBe(true);

    // A new outage with the same error is warned about again.
    feed.fail.get = "close";
    await until("a failure after the recovery", () => relay.failures >= 1);
    expect(logs.filter((l) => l.level === "warn" && l.msg === "command relay failed; retrying")).toHaveLength(2);
  });

  it("honours Retry-After, and names a refused token and a wrong URL in the log", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const h = relayFor(feed.url, pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))), { retry: { minMs: 10, maxMs: 10 } });
    feed.fail.get = { status: 429, headers: { "retry-after": "1" } };
    const started = Date.now();
    h.relay.start();
    await until("a second try", () => feed.gets.length >= 2, 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    feed.fail.get = { status: 401, body: JSON.stringify({ error: "invalid bearer token", issues: [] }) };
    await until("a 401", () => h.logs.some((l) => l.level === "error" && String(l.msg).includes("INGEST_TOKEN")), 5_000);
    expect(h.relay.lastError).toContain("answered 401: invalid bearer token");

    const wrong = relayFor(feed.url.replace("/commands", "/nothing-here"), pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    await expect(wrong.relay.pollOnce()).rejects.toThrow(/answered 404/);
    expect(wrong.logs.some((l) => l.level === "error" && String(l.msg).includes("COMMANDS_URL"))).toBe(true);
  });

  it("refuses a feed answer that breaks the contract, publishing nothing", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const h = relayFor(feed.url, pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    feed.fail.get = { status: 200, body: JSON.stringify({ commands: [{ location: "MTC", seq: 1, id: "not-a-system-id", deviceId: "d", payload: "ON" }], cursor: "x" }) };
    await expect(h.relay.pollOnce()).rejects.toThrow(/the command feed does not match the contract: commands\.0\.id: system entry ids look like ~kind-seq/);
    feed.fail.get = { status: 200, body: "<html>" };
    await expect(h.relay.pollOnce()).rejects.toThrow(/answered 200 with a body that is not JSON/);
    expect(pub.published).toEqual([]);
    expect(h.store.cursor).toBe("");
  });

  it("a failed publish is retried and recorded only once it succeeds", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const h = relayFor(feed.url, pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    feed.issue("MTC", "d1");
    pub.set("fail");
    await expect(h.relay.pollOnce()).rejects.toThrow("broker said no");
    expect(h.store.delivered("MTC", "~cmd-1")).toBe(false);
    pub.set("ack");
    expect(await h.relay.pollOnce()).toBe(1);
    expect(pub.published).toHaveLength(1);
    expect(feed.delivered()).toEqual(["MTC/~cmd-1"]);
  });

  it("stop() does not wait for ever on a publish the broker never acknowledges; nothing is recorded for it", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const h = relayFor(feed.url, pub.publish, openDb(mkdtempSync(join(tmpdir(), "relay-"))));
    feed.issue("MTC", "d1");
    pub.set("hang");
    h.relay.start();
    await until("the feed read", () => feed.gets.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await h.relay.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(h.store.delivered("MTC", "~cmd-1")).toBe(false);
    expect(h.metrics.commandFeedFailures.value()).toBe(0); // stopping is not a failure
  });

  it("reports at most 1000 deliveries per request, and forgets unknown ones", async () => {
    const feed = await scriptedFeed();
    const pub = recordingPublisher();
    const db = openDb(mkdtempSync(join(tmpdir(), "relay-")));
    const h = relayFor(feed.url, pub.publish, db);
    const at = new Date().toISOString();
    for (let i = 1; i <= 1500; i++) await h.store.recordDelivery({ location: "Gone", id: `~cmd-${i}`, deliveredAt: at });
    expect(h.store.pendingCount).toBe(1500);
    expect(await h.relay.pollOnce()).toBe(0);
    expect(feed.reports.map((r) => r.length)).toEqual([1000, 500]);
    expect(h.metrics.commandReports.value({ result: "unknown" })).toBe(1500);
    expect(h.store.pendingCount).toBe(0);
    expect(h.logs.some((l) => l.level === "warn" && l.msg.startsWith("the worker knows no such commands"))).toBe(true);
  });
});

describe("command store", () => {
  it("writes after an open outbox transaction ends, so a rollback of that transaction cannot take a delivery with it", async () => {
    const db = openDb(mkdtempSync(join(tmpdir(), "store-")));
    const outbox = new Outbox(db);
    const store = new CommandStore(db);
    outbox.begin();
    outbox.add('{"id":"x"}');
    const recorded = store.recordDelivery({ location: "MTC", id: "~cmd-1", deliveredAt: new Date().toISOString() });
    setImmediate(() => outbox.rollback()); // the end of the MQTT source's turn, here failing
    await recorded;
    expect(db.isTransaction).toBe(false);
    expect(store.delivered("MTC", "~cmd-1")).toBe(true);
    expect(outbox.depth).toBe(0);
  });

  it("keeps the cursor and unreported deliveries across a reopen; forgets what the worker acknowledged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "store-"));
    let db = openDb(dir);
    let store = new CommandStore(db);
    expect(store.cursor).toBe("");
    const a = { location: "MTC", id: "~cmd-1", deliveredAt: "2025-01-01T00:00:00.000Z" };
    const b = { location: "Paoli", id: "~cmd-1", deliveredAt: "2025-01-01T00:00:01.000Z" };
    await store.recordDelivery(b);
    await store.recordDelivery(a);
    await store.recordDelivery(a); // again: still one
    expect(store.pendingReports()).toEqual([a, b]); // oldest first
    await store.advance("c1");
    await store.reported([a]);
    db.close();
    db = openDb(dir);
    store = new CommandStore(db);
    expect(store.cursor).toBe("c1");
    expect(store.delivered("MTC", "~cmd-1")).toBe(false);
    expect(store.delivered("Paoli", "~cmd-1")).toBe(true); // same id, other location: its own command
    expect(store.pendingReports()).toEqual([b]);
    expect(store.pendingCount).toBe(1);
  });
});
