import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE, PONG, SNAPSHOT_RECENT, type EventsFrame, type LogEvent } from "../../protocol";
import { api, expectError, ingestOk, locationPath } from "./support/api";
import { MINUTE, isoFromNow, reading } from "./support/events";
import { LiveClient } from "./support/live-client";

const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));

/** Posts `n` events in batches of `size`. */
async function seed(location: string, n: number, size: number): Promise<void> {
  for (let i = 0; i < n; i += size) await ingestOk(Array.from({ length: Math.min(size, n - i) }, () => reading(location)));
}

const seqs = (events: readonly LogEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("live socket: snapshot", () => {
  it("an empty location: head 0, empty window, no recent events", async () => {
    const client = await LiveClient.connect("live-empty");
    const snap = await client.nextOfType("snapshot");
    expect(snap).toMatchObject({ type: "snapshot", location: "live-empty", head: 0, recent: [] });
    expect(snap.window).toMatchObject({ votes: 0, score: null, devices: 0, temperature: null, humidity: null });
    await client.expectQuiet();
    client.close();
  });

  it("carries head, window and the newest 50 events oldest first", async () => {
    const location = "live-snapshot";
    await seed(location, 60, 25);
    await ingestOk([reading(location, { vote: 0, temperature: 22, deviceId: "dev-2" })]);
    const client = await LiveClient.connect(location);
    const snap = await client.nextOfType("snapshot");
    expect(snap.location).toBe(location);
    expect(snap.head).toBe(61);
    expect(snap.recent).toHaveLength(SNAPSHOT_RECENT);
    expect(seqs(snap.recent)).toEqual(range(12, 61));
    expect(snap.window).toMatchObject({ votes: 61, score: 60 / 61, devices: 2, temperature: 22 });
    await client.expectQuiet();
    client.close();
  });

  it("the location name with a space travels decoded", async () => {
    const client = await LiveClient.connect("Live Hall");
    expect((await client.nextOfType("snapshot")).location).toBe("Live Hall");
    client.close();
  });
});

describe("live socket: frames", () => {
  it("one frame per committed batch, in seq order, with the new head and window", async () => {
    const location = "live-frames";
    await seed(location, 3, 3);
    const client = await LiveClient.connect(location);
    expect((await client.nextOfType("snapshot")).head).toBe(3);

    await ingestOk([reading(location, { vote: 1 }), reading(location, { vote: 0 }), reading(location, { vote: 1, temperature: 20 })]);
    await ingestOk([reading(location, { vote: 0, humidity: 50, occurredAt: isoFromNow(-5 * MINUTE) })]);
    const frames = (await client.drain()) as EventsFrame[];
    expect(frames.map((f) => f.type)).toEqual(["events", "events"]);
    expect(frames.map((f) => f.location)).toEqual([location, location]);
    expect(frames.map((f) => seqs(f.events))).toEqual([[4, 5, 6], [7]]);
    expect(frames.map((f) => f.head)).toEqual([6, 7]);
    expect(frames[0]!.window).toMatchObject({ votes: 6, score: 5 / 6, temperature: 20, humidity: null });
    expect(frames[1]!.window).toMatchObject({ votes: 7, score: 5 / 7, humidity: 50 });
    expect(frames[1]!.events[0]).toMatchObject({ type: "reading", seq: 7, vote: 0, humidity: 50 });
    client.close();
  });

  it("no frame for a batch of duplicates or of rejected events only", async () => {
    const location = "live-quiet";
    const event = reading(location);
    await ingestOk([event]);
    const client = await LiveClient.connect(location);
    await client.nextOfType("snapshot");
    await ingestOk([event, event]);
    await ingestOk([reading(location, { vote: 0.25 })]);
    await client.expectQuiet();
    client.close();
  });

  it("every socket of the location gets the frame; sockets of other locations do not", async () => {
    const [a, b] = ["live-fan-a", "live-fan-b"];
    const clients = await Promise.all([LiveClient.connect(a), LiveClient.connect(a), LiveClient.connect(a), LiveClient.connect(b)]);
    for (const c of clients) await c.nextOfType("snapshot");
    await ingestOk([reading(a), reading(a)]);
    for (const c of clients.slice(0, 3)) expect((await c.drain()).map((f) => f.type === "events" && seqs(f.events))).toEqual([[1, 2]]);
    await clients[3]!.expectQuiet();
    // One ingest spanning both locations: one frame each.
    await ingestOk([reading(a), reading(b), reading(a)]);
    expect((await clients[0]!.drain()).map((f) => f.type === "events" && seqs(f.events))).toEqual([[3, 4]]);
    expect((await clients[3]!.drain()).map((f) => f.type === "events" && seqs(f.events))).toEqual([[1]]);
    for (const c of clients) c.close();
  });

  it("a closed socket does not stop the others from getting frames", async () => {
    const location = "live-closed-peer";
    const [gone, stays] = await Promise.all([LiveClient.connect(location), LiveClient.connect(location)]);
    await gone.nextOfType("snapshot");
    await stays.nextOfType("snapshot");
    gone.close(1000, "bye");
    await gone.waitClosed();
    await ingestOk([reading(location)]);
    expect((await stays.drain()).map((f) => f.type)).toEqual(["events"]);
    stays.close();
  });
});

describe("live socket: resume with ?since=", () => {
  it("sends every event in (since, head] once, in pages, before any live frame", async () => {
    const location = "live-resume";
    await seed(location, 1200, 400); // two resume pages, within RESYNC_AFTER of the head
    const client = await LiveClient.connect(location, "?since=250");
    const snap = await client.nextOfType("snapshot");
    expect(snap.head).toBe(1200);
    const backlog: EventsFrame[] = [];
    while (backlog.flatMap((f) => f.events).length < 1200 - 250) backlog.push(await client.nextOfType("events"));
    expect(backlog.map((f) => f.events.length)).toEqual([500, 450]);
    expect(backlog.every((f) => f.head === 1200)).toBe(true);
    expect(seqs(backlog.flatMap((f) => f.events))).toEqual(range(251, 1200));

    await ingestOk([reading(location)]);
    const live = (await client.drain()) as EventsFrame[];
    expect(live.map((f) => seqs(f.events))).toEqual([[1201]]);
    client.close();
  });

  it("a client more than RESYNC_AFTER events behind gets the snapshot and a resync frame instead of the backlog", async () => {
    const location = "live-resync";
    await seed(location, 1200, 400);
    const client = await LiveClient.connect(location, "?since=199"); // 1,001 behind
    expect((await client.nextOfType("snapshot")).head).toBe(1200);
    expect(await client.next()).toEqual({ type: "resync", location, head: 1200 });
    await client.expectQuiet();
    // Live frames follow as usual.
    await ingestOk([reading(location)]);
    expect(((await client.drain()) as EventsFrame[]).map((f) => seqs(f.events))).toEqual([[1201]]);
    client.close();

    // Exactly RESYNC_AFTER behind still gets the backlog.
    const edge = await LiveClient.connect(location, "?since=201");
    await edge.nextOfType("snapshot");
    const frames = await edge.drain();
    expect(frames.every((f) => f.type === "events")).toBe(true);
    expect(seqs(frames.flatMap((f) => (f.type === "events" ? f.events : [])))).toEqual(range(202, 1201));
    edge.close();
  });

  it("cuts a batch whose frame would pass the size limit into several frames, in seq order", async () => {
    const location = "live-big-batch";
    const client = await LiveClient.connect(location);
    await client.nextOfType("snapshot");
    // One 80-event batch with 32 properties of 256 characters (some two-byte): ~650,000 characters of events.
    const big = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`p${i}`, "é".repeat(100) + "x".repeat(156)]));
    await ingestOk(Array.from({ length: 80 }, () => ({ ...reading(location), properties: big })));
    const frames = (await client.drain()) as EventsFrame[];
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const f of frames) expect(new TextEncoder().encode(JSON.stringify(f)).length).toBeLessThan(1024 * 1024);
    expect(frames.every((f) => f.head === 80)).toBe(true);
    expect(seqs(frames.flatMap((f) => f.events))).toEqual(range(1, 80));
    client.close();
  });

  it("since = head sends no backlog; since = 0 sends the whole log", async () => {
    const location = "live-resume-edges";
    await seed(location, 5, 2);
    const atHead = await LiveClient.connect(location, "?since=5");
    await atHead.nextOfType("snapshot");
    await atHead.expectQuiet();
    const fromZero = await LiveClient.connect(location, "?since=0");
    await fromZero.nextOfType("snapshot");
    expect((await fromZero.drain()).map((f) => f.type === "events" && seqs(f.events))).toEqual([range(1, 5)]);
    atHead.close();
    fromZero.close();
  });

  it("no gap and no duplicate while batches commit during the connect", async () => {
    const location = "live-resume-race";
    await seed(location, 20, 10);
    const writers = Array.from({ length: 8 }, () => ingestOk(Array.from({ length: 5 }, () => reading(location))));
    const client = await LiveClient.connect(location, "?since=10");
    await Promise.all(writers);
    const snap = await client.nextOfType("snapshot");
    const frames = (await client.drain()) as EventsFrame[];
    const delivered = seqs(frames.flatMap((f) => f.events));
    expect(delivered).toEqual(range(11, 60));
    expect(frames.every((f) => f.type === "events")).toBe(true);
    expect(snap.head).toBeGreaterThanOrEqual(20);
    client.close();
  });

  it.each([["-1"], ["x"], ["1.5"], [""], ["1e3"], ["1234567890123456"]])("since=%s → 400", async (since) => {
    const res = await api(locationPath("live-bad-since", `/live?since=${since}`), { headers: { Upgrade: "websocket" } });
    expect(res.webSocket).toBeNull();
    await expectError(res, 400, "invalid live query", ["since: must be a non-negative integer"]);
  });
});

describe("live socket: no per-message compression", () => {
  // Frames are small and go to many sockets at once; deflate would compress
  // each frame once per socket (wrangler.toml: no_web_socket_compression).
  it("a browser's permessage-deflate offer is declined: the upgrade answers without Sec-WebSocket-Extensions", async () => {
    const res = await api(locationPath("live-no-deflate", "/live"), {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" },
    });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-extensions")).toBeNull();
    const client = res.webSocket!;
    client.accept();
    client.close(1000);
  });
});

describe("live socket: client messages and closing", () => {
  it('"ping" is answered "pong"', async () => {
    const client = await LiveClient.connect("live-ping");
    await client.nextOfType("snapshot");
    client.ws.send("ping");
    expect(await client.nextText()).toBe(PONG);
    client.close();
  });

  it.each([["hello"], ["PING"], ['{"type":"subscribe"}']])("any other message (%s) closes the socket with 1008", async (message) => {
    const client = await LiveClient.connect("live-policy");
    await client.nextOfType("snapshot");
    client.ws.send(message);
    const closed = await client.waitClosed();
    expect(closed.code).toBe(CLOSE.policy);
    expect(closed.reason).toBe('live sockets are read-only; send only "ping"');
  });

  it("a binary message closes the socket with 1008", async () => {
    const client = await LiveClient.connect("live-policy-binary");
    await client.nextOfType("snapshot");
    client.ws.send(new Uint8Array([1, 2, 3]));
    expect((await client.waitClosed()).code).toBe(CLOSE.policy);
  });

  it.each([
    [1000, "done", 1000],
    [4000, "app close", 4000],
    [undefined, undefined, 1000],
  ])("a client close (%s) gets the close handshake answered", async (code, reason, expected) => {
    const client = await LiveClient.connect("live-close");
    await client.nextOfType("snapshot");
    client.ws.close(code, reason);
    expect((await client.waitClosed()).code).toBe(expected);
  });
});

describe("live socket: hibernation", () => {
  it("after the object is evicted, sockets still get frames, pongs and the policy close", async () => {
    const location = "live-hibernate";
    await seed(location, 2, 2);
    const [first, second] = await Promise.all([LiveClient.connect(location), LiveClient.connect(location, "?since=1")]);
    await first.nextOfType("snapshot");
    await second.nextOfType("snapshot");
    expect(seqs((await second.nextOfType("events")).events)).toEqual([2]);

    await evictDurableObject(stubFor(location));

    {
      first.ws.send("ping");
      expect(await first.nextText()).toBe(PONG);
    }
    await ingestOk([reading(location, { vote: 1 })]);
    for (const c of [first, second]) {
      const frames = (await c.drain()) as EventsFrame[];
      expect(frames.map((f) => seqs(f.events))).toEqual([[3]]);
      expect(frames[0]!.head).toBe(3);
    }

    await evictDurableObject(stubFor(location));
    second.ws.send("not a ping");
    expect((await second.waitClosed()).code).toBe(CLOSE.policy);
    await ingestOk([reading(location)]);
    expect((await first.drain()).map((f) => f.type === "events" && seqs(f.events))).toEqual([[4]]);
    first.close();
  });
});
