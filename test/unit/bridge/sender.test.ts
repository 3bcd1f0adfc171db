import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createBridgeMetrics } from "../../../bridge/bridge-metrics";
import { DeadLetterFile } from "../../../bridge/dead-letters";
import { createLogger } from "../../../bridge/log";
import { Outbox } from "../../../bridge/outbox";
import { Sender, type SenderOptions } from "../../../bridge/sender";
import { openStateDb } from "../../../bridge/state-db";

/**
 * The sender against a scripted ingest endpoint (a local HTTP server that
 * answers as the test says), to provoke what the real worker rarely does:
 * 429 with Retry-After, 5xx, 413, 400, partial rejections.
 */

type Reply = (events: { id: string }[], req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
interface Received {
  events: { id: string }[];
  bytes: number;
  at: number;
  auth: string | undefined;
}

const ok: Reply = (events, _req, res) => json(res, 200, { accepted: events.length, duplicates: 0, rejected: [] });
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
};

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function scriptedEndpoint(reply: Reply) {
  const received: Received[] = [];
  let current = reply;
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer(async (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const events = (JSON.parse(body.toString()) as { events: { id: string }[] }).events;
    received.push({ events, bytes: body.length, at: Date.now(), auth: req.headers.authorization });
    try {
      await current(events, req, res);
    } finally {
      inFlight--;
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/ingest`,
    received,
    set: (r: Reply) => (current = r),
    maxInFlight: () => maxInFlight,
  };
}

function harness(url: string, options: Partial<SenderOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sender-"));
  const outbox = new Outbox(openStateDb(dir, "normal"));
  const deadLetters = new DeadLetterFile(join(dir, "dead-letters.jsonl"));
  const metrics = createBridgeMetrics({ outboxDepth: () => outbox.depth, sourceConnected: () => true });
  const logs: { level: string; msg: string }[] = [];
  const log = createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) });
  const sender = new Sender(outbox, deadLetters, metrics, log, {
    ingestUrl: url,
    ingestToken: "tok",
    batchMaxEvents: 500,
    batchMaxBytes: 512 * 1024,
    batchLingerMs: 0,
    sendConcurrency: 2,
    sendTimeoutMs: 5_000,
    retryMinMs: 20,
    retryMaxMs: 100,
    maxBatchFailures: 8,
    ...options,
  });
  cleanups.push(() => {
    sender.stop();
    outbox.close();
    deadLetters.close();
  });
  let n = 0;
  const add = (count: number, extra: Record<string, unknown> = {}) => {
    for (let i = 0; i < count; i++) {
      const id = `e${++n}`;
      outbox.add(JSON.stringify({ id, deviceId: "d", location: "MTC", occurredAt: "2025-01-01T00:00:00.000Z", vote: 1, ...extra }));
    }
  };
  const deadLetterLines = () => {
    try {
      return readFileSync(deadLetters.path, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };
  return { outbox, sender, metrics, logs, add, deadLetterLines };
}

const until = async (cond: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
};
const ids = (received: Received[]) => received.flatMap((r) => r.events.map((e) => e.id));

describe("sender (scripted ingest endpoint)", () => {
  it("batches by count, in outbox order, with the bearer token, and removes what was acknowledged", async () => {
    const ep = await scriptedEndpoint(ok);
    const h = harness(ep.url, { batchMaxEvents: 400, sendConcurrency: 1, batchLingerMs: 50 });
    h.add(1000);
    await until(() => h.outbox.depth === 0);
    expect(ep.received.map((r) => r.events.length)).toEqual([400, 400, 200]);
    expect(ids(ep.received)).toEqual(Array.from({ length: 1000 }, (_, i) => `e${i + 1}`));
    expect(ep.received.every((r) => r.auth === "Bearer tok")).toBe(true);
    expect(h.metrics.sent.value()).toBe(1000);
    expect(h.metrics.acknowledged.value()).toBe(1000);
  });

  it("batches by bytes: no body over the limit", async () => {
    const ep = await scriptedEndpoint(ok);
    const h = harness(ep.url, { batchMaxBytes: 2_000 });
    h.add(100);
    await until(() => h.outbox.depth === 0);
    expect(ep.received.length).toBeGreaterThan(5);
    expect(Math.max(...ep.received.map((r) => r.bytes))).toBeLessThanOrEqual(2_000);
    expect(new Set(ids(ep.received)).size).toBe(100);
  });

  it("waits up to the linger time to fill a batch", async () => {
    const ep = await scriptedEndpoint(ok);
    const h = harness(ep.url, { batchLingerMs: 300 });
    h.add(1);
    await new Promise((r) => setTimeout(r, 50));
    h.add(2);
    expect(ep.received).toHaveLength(0);
    await until(() => h.outbox.depth === 0);
    expect(ep.received.map((r) => r.events.length)).toEqual([3]);
  });

  it("holds a partial batch while a request is in flight, so it grows instead of queueing at the worker", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ep = await scriptedEndpoint(async (events, req, res) => {
      if (ep.received.length === 1) await gate;
      ok(events, req, res);
    });
    const h = harness(ep.url, { sendConcurrency: 4, batchLingerMs: 0 });
    h.add(1);
    await until(() => ep.received.length === 1);
    for (let i = 0; i < 5; i++) {
      h.add(1);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(ep.received).toHaveLength(1); // four slots free, but nothing full to send
    release();
    await until(() => h.outbox.depth === 0);
    expect(ep.received.map((r) => r.events.length)).toEqual([1, 5]);
  });

  it("keeps at most SEND_CONCURRENCY requests in flight", async () => {
    const ep = await scriptedEndpoint(async (events, req, res) => {
      await new Promise((r) => setTimeout(r, 30));
      ok(events, req, res);
    });
    const h = harness(ep.url, { batchMaxEvents: 10, sendConcurrency: 3 });
    h.add(200);
    await until(() => h.outbox.depth === 0);
    expect(ep.maxInFlight()).toBe(3);
  });

  it("retries 5xx and network errors with backoff until the worker takes the batch", async () => {
    const ep = await scriptedEndpoint((_e, _q, res) => json(res, 503, { error: "unavailable", issues: [] }));
    const h = harness(ep.url);
    h.add(5);
    await until(() => ep.received.length >= 3);
    expect(h.outbox.depth).toBe(5);
    ep.set(ok);
    await until(() => h.outbox.depth === 0);
    expect(h.metrics.retries.value()).toBeGreaterThanOrEqual(3);
    expect(h.metrics.requests.value({ status: "503" })).toBeGreaterThanOrEqual(3);

    // Nobody listening at all.
    const dead = harness("http://127.0.0.1:9/api/v1/ingest");
    dead.add(2);
    await until(() => dead.metrics.requests.value({ status: "error" }) >= 2);
    expect(dead.outbox.depth).toBe(2);
    expect(dead.logs.some((l) => l.msg === "send failed; will retry" && JSON.stringify(l).includes("network"))).toBe(true);
  });

  it("during an outage retries one batch at a time, and afterwards delivers the backlog in receipt order", async () => {
    let up = false;
    const delivered: string[] = [];
    const ep = await scriptedEndpoint((events, req, res) => {
      if (!up) return json(res, 503, { error: "down", issues: [] });
      delivered.push(...events.map((e) => e.id));
      ok(events, req, res);
    });
    const h = harness(ep.url, { batchMaxEvents: 3, sendConcurrency: 4, batchLingerMs: 0 });
    for (let i = 0; i < 10; i++) h.add(1);
    await until(() => ep.received.length >= 8);
    const probes = ep.received.slice(4).map((r) => r.events[0]!.id);
    expect(new Set(probes)).toEqual(new Set(["e1"])); // after the first round only the oldest batch retries
    up = true;
    h.add(5);
    await until(() => h.outbox.depth === 0);
    expect(delivered).toEqual(Array.from({ length: 15 }, (_, i) => `e${i + 1}`));
  });

  it("honours 429 Retry-After", async () => {
    const ep = await scriptedEndpoint((_e, _q, res) => json(res, 429, { error: "slow down", issues: [] }, { "retry-after": "1" }));
    const h = harness(ep.url, { retryMaxMs: 50 });
    h.add(1);
    await until(() => ep.received.length === 1);
    ep.set(ok);
    await until(() => h.outbox.depth === 0);
    expect(ep.received[1]!.at - ep.received[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it("on 401 says INGEST_TOKEN is wrong and keeps the events (never drops them)", async () => {
    const ep = await scriptedEndpoint((_e, _q, res) => json(res, 401, { error: "invalid bearer token", issues: [] }));
    const h = harness(ep.url);
    h.add(3);
    await until(() => ep.received.length >= 4);
    expect(h.outbox.depth).toBe(3);
    expect(h.deadLetterLines()).toEqual([]);
    expect(h.logs.some((l) => l.level === "error" && l.msg.includes("INGEST_TOKEN"))).toBe(true);
    ep.set(ok);
    await until(() => h.outbox.depth === 0);
  });

  it("dead-letters the events a 200 lists as rejected, with the worker's reasons, and removes the batch", async () => {
    const ep = await scriptedEndpoint((events, _q, res) =>
      json(res, 200, { accepted: events.length - 3, duplicates: 1, rejected: [{ index: 1, id: "e2", errors: ["vote: bad"] }, { index: 3, id: "e4", errors: ["x"] }] }),
    );
    const h = harness(ep.url, { sendConcurrency: 1, batchLingerMs: 20 });
    h.add(5);
    await until(() => h.outbox.depth === 0);
    const letters = h.deadLetterLines();
    expect(letters.map((l) => [l.reason, l.event.id, l.errors])).toEqual([
      ["rejected", "e2", ["vote: bad"]],
      ["rejected", "e4", ["x"]],
    ]);
    expect(h.metrics.rejected.value()).toBe(2);
    expect(h.metrics.deadLettered.value({ reason: "rejected" })).toBe(2);
    expect(h.metrics.duplicates.value()).toBe(1);
  });

  it("splits a batch refused whole (413, 400) to isolate the culprit, dead-lettering only it", async () => {
    const ep = await scriptedEndpoint((events, req, res) => {
      if (events.length > 2) return json(res, 413, { error: "body is larger than 1048576 bytes", issues: [] });
      if (events.some((e) => e.id === "e3")) return json(res, 400, { error: "invalid ingest body", issues: ["events: broken"] });
      ok(events, req, res);
    });
    const h = harness(ep.url, { sendConcurrency: 1, batchLingerMs: 20 });
    h.add(7);
    await until(() => h.outbox.depth === 0);
    const stored = ep.received.filter((r) => r.events.length <= 2 && !r.events.some((e) => e.id === "e3")).flatMap((r) => r.events.map((e) => e.id));
    expect(stored.sort()).toEqual(["e1", "e2", "e4", "e5", "e6", "e7"]);
    expect(h.deadLetterLines().map((l) => [l.event.id, l.errors])).toEqual([["e3", ["invalid ingest body", "events: broken"]]]);
  });

  it("dead-letters the one event the worker fails on every time (its own 500) and delivers the others in order", async () => {
    const delivered: string[] = [];
    const ep = await scriptedEndpoint((events, req, res) => {
      if (events.some((e) => e.id === "e6")) return json(res, 500, { error: "internal error", issues: [] });
      delivered.push(...events.map((e) => e.id));
      ok(events, req, res);
    });
    const h = harness(ep.url, { maxBatchFailures: 3, sendConcurrency: 1, batchLingerMs: 20, batchMaxEvents: 10, retryMinMs: 5, retryMaxMs: 20 });
    h.add(10);
    await until(() => h.outbox.depth === 0);
    h.add(4); // the bridge goes on
    await until(() => h.outbox.depth === 0);
    expect(delivered).toEqual(["e1", "e2", "e3", "e4", "e5", "e7", "e8", "e9", "e10", "e11", "e12", "e13", "e14"]);
    const letters = h.deadLetterLines();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: "undeliverable", event: { id: "e6" }, source: { status: 500 } });
    expect(letters[0].errors[0]).toContain("HTTP 500: internal error");
    expect(h.metrics.deadLettered.value({ reason: "undeliverable" })).toBe(1);
    expect(h.metrics.splits.value()).toBe(4); // 10 → 5 → 3 → 2 → 1
    // Each request holding e6 was refused exactly maxBatchFailures times before the next split.
    const withPoison = ep.received.filter((r) => r.events.some((e) => e.id === "e6")).map((r) => r.events.length);
    expect(withPoison).toEqual([10, 10, 10, 5, 5, 5, 3, 3, 3, 2, 2, 2, 1, 1, 1]);
  });

  it("isolates a poison event while other batches are in flight and waiting in line", async () => {
    const delivered: string[] = [];
    const ep = await scriptedEndpoint(async (events, req, res) => {
      await new Promise((r) => setTimeout(r, 5));
      if (events.some((e) => e.id === "e23")) return json(res, 502, { error: "internal error", issues: [] });
      delivered.push(...events.map((e) => e.id));
      ok(events, req, res);
    });
    const h = harness(ep.url, { maxBatchFailures: 2, sendConcurrency: 4, batchMaxEvents: 6, retryMinMs: 2, retryMaxMs: 10 });
    h.add(60);
    await until(() => h.outbox.depth === 0);
    expect(h.deadLetterLines().map((l) => [l.reason, l.event.id, l.source.status])).toEqual([["undeliverable", "e23", 502]]);
    const expected = Array.from({ length: 60 }, (_, i) => `e${i + 1}`).filter((id) => id !== "e23");
    expect([...delivered].sort()).toEqual([...expected].sort());
  });

  it("never dead-letters for an outage: 503, a proxy's 502 page or no answer are retried for ever", async () => {
    let n = 0;
    const ep = await scriptedEndpoint((_e, _q, res) => {
      n++;
      if (n % 2) return json(res, 503, { error: "ingest is not configured", issues: [] });
      res.writeHead(502, { "content-type": "text/html" }).end("<html><body>Bad gateway</body></html>");
    });
    const h = harness(ep.url, { maxBatchFailures: 1, retryMinMs: 2, retryMaxMs: 5 });
    h.add(4);
    await until(() => ep.received.length >= 20);
    expect(h.outbox.depth).toBe(4);
    expect(h.deadLetterLines()).toEqual([]);
    expect(h.metrics.splits.value()).toBe(0);
    ep.set(ok);
    await until(() => h.outbox.depth === 0);
  });

  it("a 400 or 413 that is not the worker's error body (a proxy, a WAF, a wrong URL) is retried, never dead-lettered", async () => {
    const foreign: Reply[] = [
      (_e, _q, res) => void res.writeHead(400, { "content-type": "text/html" }).end("<html><h1>400 Bad Request</h1>nginx</html>"),
      (_e, _q, res) => json(res, 413, { message: "Request Entity Too Large" }),
      (_e, _q, res) => void res.writeHead(400).end(),
    ];
    let n = 0;
    const ep = await scriptedEndpoint((events, req, res) => (n < foreign.length ? foreign[n++]!(events, req, res) : ok(events, req, res)));
    const h = harness(ep.url, { sendConcurrency: 1, batchLingerMs: 20 });
    h.add(3);
    await until(() => h.outbox.depth === 0);
    expect(h.deadLetterLines()).toEqual([]);
    expect(ep.received.map((r) => r.events.length)).toEqual([3, 3, 3, 3]); // never split either
    expect(h.metrics.acknowledged.value()).toBe(3);
    expect(h.metrics.unrecognised.value({ status: "400" })).toBe(2);
    expect(h.metrics.unrecognised.value({ status: "413" })).toBe(1);
    expect(h.sender.unrecognisedCount).toBe(3);
    expect(h.sender.lastUnrecognised).toBe("HTTP 400 (not the worker's error body): (no body)");
  });

  it("a 200 whose counts do not add up, or that rejects events the batch lacks, is retried and the batch kept", async () => {
    const bad: unknown[] = [
      { accepted: 0, duplicates: 0, rejected: [] },
      { accepted: 1, duplicates: 0, rejected: [{ index: 7, id: "e8", errors: ["x"] }, { index: 1, id: "e2", errors: ["x"] }] },
      { accepted: 1, duplicates: 0, rejected: [{ index: 1, id: "e2", errors: ["x"] }, { index: 1, id: "e2", errors: ["x"] }] },
      { ok: true },
    ];
    let n = 0;
    const ep = await scriptedEndpoint((events, req, res) => (n < bad.length ? json(res, 200, bad[n++]) : ok(events, req, res)));
    const h = harness(ep.url, { sendConcurrency: 1, batchLingerMs: 20 });
    h.add(3);
    await until(() => ep.received.length === 2);
    expect(h.outbox.depth).toBe(3);
    await until(() => h.outbox.depth === 0);
    expect(ep.received).toHaveLength(5);
    expect(h.deadLetterLines()).toEqual([]);
    expect(h.metrics.acknowledged.value()).toBe(3);
    expect(h.metrics.unrecognised.value({ status: "200" })).toBe(4);
    expect(h.sender.lastUnrecognised).toContain("is not an ingest response");
  });

  it("flush sends at once (no linger) and reports whether the outbox emptied; stop keeps the rest spooled", async () => {
    const ep = await scriptedEndpoint(ok);
    const h = harness(ep.url, { batchLingerMs: 60_000 });
    h.add(3);
    expect(await h.sender.flush(5_000)).toBe(true);
    expect(h.outbox.depth).toBe(0);

    ep.set((_e, _q, res) => json(res, 503, { error: "down", issues: [] }));
    h.add(2);
    expect(await h.sender.flush(200)).toBe(false);
    h.sender.stop();
    expect(h.outbox.depth).toBe(2);
  });
});
