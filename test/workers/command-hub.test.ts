import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { CLOSE, HUB_CLOSE, type CommandDeliveredEvent, type HubCommand } from "../../protocol";
import { app } from "../../worker/app";
import { commandHubStub } from "../../worker/stubs";
import { api, expectError, ingestOk, storedEvents } from "./support/api";
import { reading } from "./support/events";
import { HubClient } from "./support/hub-client";

/**
 * The commands hub through the worker's route, in workerd: hello and epoch,
 * replay after the cursor, push, deliveries forwarded to the locations by
 * the hub's real alarm, one bridge at a time, and every bad frame refused.
 * The hub is one object for the whole file, so each test closes its sockets
 * (waiting for the hub's answering close) and delivers what it made.
 */

const hub = () => commandHubStub(env);
const open: HubClient[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.closeAndWait();
});
const track = <T extends { client: HubClient }>(r: T): T => (open.push(r.client), r);

/** Three sad votes: the default rule raises the alert and issues "ON" (`~cmd-5` at a fresh location). */
const sad = (location: string, deviceId: string) => ingestOk([0, 0, 0].map((vote) => reading(location, { deviceId, vote })));

const commandsOf = (frames: { type: string; commands?: HubCommand[] }[], location: string): HubCommand[] =>
  frames.flatMap((f) => (f.type === "commands" ? f.commands!.filter((c) => c.location === location) : []));

/** Delivers (and gets recorded) every command in `frames`, so later tests start from an empty queue. */
async function deliverAll(client: HubClient, commands: HubCommand[]): Promise<void> {
  if (commands.length === 0) return;
  client.send({ type: "delivered", deliveries: commands.map((c) => ({ location: c.location, id: c.id, deliveredAt: new Date().toISOString() })) });
  const recorded = await client.nextOfType("recorded");
  expect(recorded.recorded).toHaveLength(commands.length);
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const delivered = async (location: string) =>
  (await storedEvents(location)).filter((e): e is CommandDeliveredEvent => e.type === "command-delivered");

describe("commands hub: hello, push, replay", () => {
  it("says hello with one epoch (a UUID) on every connection, and its head", async () => {
    const a = await HubClient.connect();
    open.push(a);
    const b = await HubClient.connect();
    open.push(b);
    const [ha, hb] = [await a.nextOfType("hello"), await b.nextOfType("hello")];
    expect(ha.epoch).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(hb.epoch).toBe(ha.epoch);
    expect(hb.head).toBe(ha.head);
    expect((await hub().state()).epoch).toBe(ha.epoch);
  });

  it.each(["東京", "Zürich"])("pushes a command issued at %s to the resumed bridge at once; the delivery reaches the location's log", async (location) => {
    const { client, role } = track(await HubClient.resumed(`bridge-push-${location}`));
    expect(role).toBe("active");
    await sad(location, "led-1");
    const frames = await client.drain();
    const pushed = commandsOf(frames, location);
    expect(pushed).toEqual([
      { cursor: expect.any(Number), location, seq: 5, id: "~cmd-5", deviceId: "led-1", payload: "ON", ruleId: "low-score", issuedAt: expect.any(String) },
    ]);
    expect(frames).toHaveLength(1);

    const deliveredAt = new Date().toISOString();
    client.send({ type: "delivered", deliveries: [{ location, id: "~cmd-5", deliveredAt }] });
    expect(await client.nextOfType("recorded")).toEqual({ type: "recorded", recorded: [{ location, id: "~cmd-5" }], unknown: [] });
    // Forwarded by the hub's alarm (run by workerd, not by the test).
    await waitFor("the delivery in the location's log", async () => (await delivered(location)).length === 1);
    expect((await delivered(location))[0]).toMatchObject({ commandId: "~cmd-5", deviceId: "led-1", occurredAt: deliveredAt });

    // A repeated report is recorded again for the bridge, and changes nothing at the location.
    client.send({ type: "delivered", deliveries: [{ location, id: "~cmd-5", deliveredAt }, { location, id: "~cmd-99", deliveredAt }] });
    expect(await client.nextOfType("recorded")).toEqual({ type: "recorded", recorded: [{ location, id: "~cmd-5" }], unknown: [{ location, id: "~cmd-99" }] });
    await waitFor("the hub's queue to empty", async () => (await hub().state()).forwards === 0);
    expect(await delivered(location)).toHaveLength(1);
    // Nothing left to do: no alarm, so the hub (and every location) rests.
    expect(await runInDurableObject(hub(), (_, state) => state.storage.getAlarm())).toBeNull();
  });

  it("replays undelivered commands after the cursor to the same bridge, and only those", async () => {
    const location = "hub-replay";
    const first = track(await HubClient.resumed("bridge-replay"));
    await sad(location, "dev-a");
    await sad(location, "dev-b"); // head 3 + 3 for dev-b: ~cmd-10
    const pushed = commandsOf(await first.client.drain(), location);
    expect(pushed.map((c) => c.id)).toEqual(["~cmd-5", "~cmd-10"]);
    await first.client.closeAndWait();
    open.splice(open.indexOf(first.client), 1);

    // The same bridge resumes having recorded the first (its cursor): only the second comes again.
    const again = track(await HubClient.resumed("bridge-replay", pushed[0]!.cursor));
    expect(commandsOf(await again.client.drain(), location).map((c) => c.id)).toEqual(["~cmd-10"]);
    await again.client.closeAndWait();
    open.splice(open.indexOf(again.client), 1);

    // From the start of the epoch: both.
    const fresh = track(await HubClient.resumed("bridge-replay", 0));
    const all = commandsOf(await fresh.client.drain(), location);
    expect(all.map((c) => c.id)).toEqual(["~cmd-5", "~cmd-10"]);
    await deliverAll(fresh.client, all);
    await fresh.client.closeAndWait();
    open.splice(open.indexOf(fresh.client), 1);

    const after = track(await HubClient.resumed("bridge-replay", 0));
    expect(commandsOf(await after.client.drain(), location), "delivered: never handed out again").toEqual([]);
  });

  it("enqueue is idempotent by (location, command id)", async () => {
    const command = { seq: 7, id: "~cmd-7", deviceId: "d-1", payload: "ON", ruleId: null, issuedAt: new Date().toISOString() };
    expect(await hub().enqueue("hub-idem", [command])).toEqual({ accepted: 1, duplicates: 0 });
    expect(await hub().enqueue("hub-idem", [command, command])).toEqual({ accepted: 0, duplicates: 2 });
    expect(await hub().enqueue("hub-idem-2", [command])).toEqual({ accepted: 1, duplicates: 0 }); // same id, other location
    const { client } = track(await HubClient.resumed("bridge-idem"));
    const frames = await client.drain();
    expect(commandsOf(frames, "hub-idem").map((c) => c.id)).toEqual(["~cmd-7"]);
    expect(commandsOf(frames, "hub-idem-2").map((c) => c.id)).toEqual(["~cmd-7"]);
    // Unknown to the locations (made up here): the forward fails softly there; the bridge may forget them.
    await deliverAll(client, [...commandsOf(frames, "hub-idem"), ...commandsOf(frames, "hub-idem-2")]);
  });
});

describe("commands hub: one bridge at a time", () => {
  it("a second bridge waits (standby); it takes over when the first leaves, but not the first's unreported commands", async () => {
    const location = "hub-two";
    const a = track(await HubClient.resumed("bridge-a"));
    expect(a.role).toBe("active");
    const b = track(await HubClient.resumed("bridge-b"));
    expect(b.role).toBe("standby");

    await sad(location, "dev-1");
    expect(commandsOf(await a.client.drain(), location).map((c) => c.id)).toEqual(["~cmd-5"]);
    expect(await b.client.drain(), "the standby bridge is handed nothing").toEqual([]);

    await a.client.closeAndWait();
    open.splice(open.indexOf(a.client), 1);
    // b holds the feed now: new commands go to it; ~cmd-5 stays with a (its lease) in case a published it.
    expect(await b.client.nextOfType("resumed")).toEqual({ type: "resumed", epoch: b.epoch, role: "active" });
    await sad(location, "dev-2");
    const toB = commandsOf(await b.client.drain(), location);
    expect(toB.map((c) => c.id)).toEqual(["~cmd-10"]);
    await deliverAll(b.client, toB);

    // a comes back: it is the standby now, and reports what it published.
    const back = track(await HubClient.resumed("bridge-a", 0));
    expect(back.role).toBe("standby");
    back.client.send({ type: "delivered", deliveries: [{ location, id: "~cmd-5", deliveredAt: new Date().toISOString() }] });
    expect((await back.client.nextOfType("recorded")).recorded).toEqual([{ location, id: "~cmd-5" }]);
    await waitFor("both deliveries at the location", async () => (await delivered(location)).length === 2);
  });

  it("the same bridge connecting again replaces its older socket (closed 4000)", async () => {
    const old = track(await HubClient.resumed("bridge-twice"));
    expect(old.role).toBe("active");
    const fresh = track(await HubClient.resumed("bridge-twice"));
    expect(fresh.role, "the newer socket holds the feed").toBe("active");
    expect(await old.client.closedWith()).toEqual({ code: HUB_CLOSE.replaced, reason: "replaced by a newer connection of the same bridge" });
    await sad("hub-twice", "dev-1");
    const pushed = commandsOf(await fresh.client.drain(), "hub-twice");
    expect(pushed.map((c) => c.id)).toEqual(["~cmd-5"]);
    await deliverAll(fresh.client, pushed);
  });
});

describe("commands hub: bad input", () => {
  it.each([
    ["no token", undefined, 401, "missing bearer token"],
    ["a wrong token", "Bearer nope", 401, "invalid bearer token"],
    ["the admin token", `Bearer ${env.ADMIN_TOKEN}`, 401, "invalid bearer token"],
  ])("refuses %s with 401", async (_, authorization, status, error) => {
    const headers: Record<string, string> = { Upgrade: "websocket" };
    if (authorization) headers.authorization = authorization;
    await expectError(await api("/api/v1/commands/live", { headers }), status, error);
  });

  it("503 without INGEST_TOKEN; 426 without an upgrade; the old poll route is gone", async () => {
    const unconfigured = { ...env, INGEST_TOKEN: undefined } as Env;
    await expectError(await app.request("/api/v1/commands/live", { headers: { Upgrade: "websocket", authorization: "Bearer x" } }, unconfigured), 503, "INGEST_TOKEN is not configured");
    await expectError(await api("/api/v1/commands/live", { headers: { authorization: `Bearer ${env.INGEST_TOKEN}` } }), 426, "expected a WebSocket upgrade");
    await expectError(await api("/api/v1/commands?cursor=", { headers: { authorization: `Bearer ${env.INGEST_TOKEN}` } }), 404, "no route for GET /api/v1/commands");
  });

  const resumed = async (frame: unknown) => {
    const client = await HubClient.connect();
    const hello = await client.nextOfType("hello");
    return { client, epoch: hello.epoch, frame };
  };
  it.each<[string, (epoch: string) => string | ArrayBuffer, string]>([
    ["a binary frame", () => new Uint8Array([1, 2]).buffer, "frames are JSON text"],
    ["text that is not JSON", () => "{", "frame is not JSON"],
    ["a frame over the limit", () => "x".repeat(300_000), "frame longer than 262144 characters"],
    ["an unknown type", () => JSON.stringify({ type: "poll" }), 'type: type must be "resume" or "delivered"'],
    ["deliveries before resume", () => JSON.stringify({ type: "delivered", deliveries: [{ location: "x", id: "~cmd-1", deliveredAt: new Date().toISOString() }] }), "resume first"],
    ["resume with another epoch", () => JSON.stringify({ type: "resume", bridge: "b", epoch: crypto.randomUUID(), cursor: 0 }), "resume with the epoch of hello"],
    ["resume with a negative cursor", (epoch) => JSON.stringify({ type: "resume", bridge: "b", epoch, cursor: -1 }), "cursor: cursor must not be negative"],
    ["resume with a cursor past the head", (epoch) => JSON.stringify({ type: "resume", bridge: "b", epoch, cursor: 1e9 }), "past the hub's head"],
    ["resume with an unknown field", (epoch) => JSON.stringify({ type: "resume", bridge: "b", epoch, cursor: 0, since: 1 }), 'Unrecognized key: "since"'],
    ["resume without a bridge name", (epoch) => JSON.stringify({ type: "resume", epoch, cursor: 0 }), "bridge: bridge must be a string"],
  ])("closes with 1008 on %s", async (_, frame, reason) => {
    const { client, epoch } = await resumed(null);
    client.ws.send(frame(epoch));
    const closed = await client.closedWith();
    expect(closed.code).toBe(CLOSE.policy);
    expect(closed.reason).toContain(reason);
  });

  it.each([
    ["a device message id", [{ location: "x", id: "m-1", deliveredAt: new Date().toISOString() }], "deliveries.0.id: system entry ids look like ~kind-seq"],
    ["a bad date", [{ location: "x", id: "~cmd-1", deliveredAt: "yesterday" }], "deliveries.0.deliveredAt: deliveredAt must be an ISO 8601 date-time"],
    ["a bad location", [{ location: "a/b", id: "~cmd-1", deliveredAt: new Date().toISOString() }], "deliveries.0.location: location may hold only"],
    ["no deliveries", [], "deliveries: deliveries must hold at least 1 entry"],
  ])("closes with 1008 on deliveries with %s, storing nothing", async (_, deliveries, reason) => {
    const { client } = await HubClient.resumed("bridge-bad-deliveries");
    const { head, undelivered, forwards } = await hub().state();
    client.send(JSON.stringify({ type: "delivered", deliveries }));
    const closed = await client.closedWith();
    expect(closed.code).toBe(CLOSE.policy);
    expect(closed.reason).toContain(reason);
    expect(await hub().state()).toMatchObject({ head, undelivered, forwards });
  });

  it("resume only once per socket", async () => {
    const { client, epoch } = await HubClient.resumed("bridge-resume-twice");
    client.send({ type: "resume", bridge: "bridge-resume-twice", epoch, cursor: 0 });
    expect(await client.closedWith()).toEqual({ code: CLOSE.policy, reason: "resume only once per socket" });
  });
});
