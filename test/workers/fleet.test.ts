import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  CLOSE,
  MAX_FLEET_FRAME_BYTES,
  PONG,
  fleetFrame,
  locationResponse,
  locationsResponse,
  type FleetChangesFrame,
  type FleetFrame,
  type FleetSummary,
  type LocationsResponse,
} from "../../protocol";
import { isoString } from "../../protocol/time";
import { fleetStub } from "../../durable-objects/fleet";
import { encodeLocationsCursor } from "../../worker/params";
import { api, expectError, ingestOk, parsed } from "./support/api";
import { reading } from "./support/events";
import { LiveClient } from "./support/live-client";

const fleet = () => fleetStub(env);
const FLEET_LIVE = "/api/v1/fleet/live";

/** A valid summary of `location` with `head`, its window ending at `to` (ms). */
function summary(location: string, head = 1, to = Date.now(), extra: Partial<FleetSummary> = {}): FleetSummary {
  return {
    location,
    head,
    lastEventAt: head === 0 ? null : isoString(to),
    window: { from: isoString(to - 3_600_000), to: isoString(to), votes: head, score: head ? 1 : null, devices: head ? 1 : 0, temperature: null, humidity: null },
    alerts: 0,
    ...extra,
  };
}

async function listPage(query = ""): Promise<LocationsResponse> {
  return parsed(await api(`/api/v1/locations${query}`), locationsResponse);
}

/** Every location, following `next` with pages of `limit`. */
async function listAll(limit = 500): Promise<{ names: string[]; pages: number; summaries: FleetSummary[] }> {
  const summaries: FleetSummary[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: LocationsResponse = await listPage(`?limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`);
    expect(page.locations.length).toBeLessThanOrEqual(limit);
    summaries.push(...page.locations);
    cursor = page.next;
    pages++;
  } while (cursor !== null);
  return { names: summaries.map((s) => s.location), pages, summaries };
}

/** Code point order (what SQLite's BINARY collation gives for UTF-8 text). */
const byCodePoint = (a: string, b: string): number => {
  const [x, y] = [[...a].map((c) => c.codePointAt(0)!), [...b].map((c) => c.codePointAt(0)!)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

const frameOf = (text: string): FleetFrame => fleetFrame.parse(JSON.parse(text));

async function connectFleet(): Promise<{ client: LiveClient; snapshot: FleetSummary[]; parts: number }> {
  const client = await LiveClient.open(FLEET_LIVE);
  const snapshot: FleetSummary[] = [];
  let parts = 0;
  for (;;) {
    const frame = frameOf(await client.nextText());
    if (frame.type !== "snapshot") throw new Error(`expected a snapshot frame, got ${frame.type}`);
    expect(frame.part).toBe(parts + 1);
    snapshot.push(...frame.locations);
    parts = frame.part;
    if (frame.part === frame.parts) return { client, snapshot, parts };
  }
}

/** `changes` frames until one lists every name in `names`; fails after 5 s. */
async function changesUntil(client: LiveClient, names: string[]): Promise<FleetChangesFrame[]> {
  const frames: FleetChangesFrame[] = [];
  const missing = new Set(names);
  while (missing.size > 0) {
    const frame = frameOf(await client.nextText());
    expect(frame.type).toBe("changes");
    frames.push(frame as FleetChangesFrame);
    for (const s of frame.locations) missing.delete(s.location);
  }
  return frames;
}

describe("Fleet.publish", () => {
  it("stores a summary once; an older or equal one changes nothing; a later window of the same head does", async () => {
    const location = "pub-order";
    const t = Date.now();
    expect(await fleet().publish(summary(location, 5, t))).toEqual({ stored: true });
    expect(await fleet().publish(summary(location, 5, t))).toEqual({ stored: false });
    expect(await fleet().publish(summary(location, 4, t + 60_000))).toEqual({ stored: false });
    expect(await fleet().publish(summary(location, 5, t - 1))).toEqual({ stored: false });
    expect(await fleet().publish(summary(location, 5, t + 60_000, { alerts: 2 }))).toEqual({ stored: true });
    expect(await fleet().publish(summary(location, 6, t))).toEqual({ stored: true });
    const held = (await listAll()).summaries.filter((s) => s.location === location);
    expect(held).toEqual([summary(location, 6, t)]);
  });

  it.each([
    ["a bad location name", { location: "a/b" }],
    ["a negative head", { head: -1 }],
    ["a missing window", { window: undefined }],
    ["a fractional alert count", { alerts: 1.5 }],
  ])("refuses %s and stores nothing", async (_, bad) => {
    const candidate = { ...summary("pub-bad"), ...bad };
    const error = await fleet()
      .publish(candidate as FleetSummary)
      .then(() => null, (e: unknown) => e);
    expect(String(error)).toMatch(/invalid fleet summary/);
    expect((await listAll()).names).not.toContain("pub-bad");
  });
});

describe("GET /api/v1/locations", () => {
  it("lists a location after its first stored event, with head, window and its active alerts", async () => {
    const location = "listed-via-ingest";
    await ingestOk([reading(location, { vote: 2 })]); // rejected: nothing stored, nothing published
    expect((await listAll()).names).not.toContain(location);
    const sad = [0, 0, 0].map((vote) => reading(location, { vote }));
    await ingestOk(sad); // the default rule raises an alert (score < 0.7 over 3 votes) and issues its command
    const entry = (await listAll()).summaries.find((s) => s.location === location);
    expect(entry).toMatchObject({ location, head: 5, alerts: 1 });
    expect(entry!.window).toMatchObject({ votes: 3, score: 0, devices: 1 });
    // The same figures as the location itself answers.
    const own = await parsed(await api(`/api/v1/locations/${location}`), locationResponse);
    expect({ head: entry!.head, window: entry!.window }).toEqual({ head: own.head, window: { ...own.window, from: entry!.window.from, to: entry!.window.to } });
  });

  it("a registration that fails after the commit is retried by the location's alarm, also when the writer's retry is all duplicates", async () => {
    const location = "registered-late";
    // The fleet object fails every publish while its table is away (what a failing call looks like from the location).
    await runInDurableObject(fleet(), (_instance, state) => void state.storage.sql.exec("ALTER TABLE summaries RENAME TO summaries_away"));
    const events = [reading(location, { vote: 1 })];
    try {
      expect(await ingestOk(events)).toMatchObject({ accepted: 1 });
      // The bridge's retry of the same batch: all duplicates, so nothing new to tell.
      expect(await ingestOk(events)).toMatchObject({ accepted: 0, duplicates: 1 });
      const listed = await runInDurableObject(fleet(), (_instance, state) => state.storage.sql.exec("SELECT count(*) AS n FROM summaries_away WHERE location = ?", location).one().n);
      expect(listed).toBe(0);
    } finally {
      await runInDurableObject(fleet(), (_instance, state) => void state.storage.sql.exec("ALTER TABLE summaries_away RENAME TO summaries"));
    }
    // No request reaches the location now: only its own alarm (retrying 1 s, then 2 s, … after a failure) can register it.
    const deadline = Date.now() + 20_000;
    while (!(await listAll()).names.includes(location)) {
      if (Date.now() > deadline) throw new Error(`${location} was not listed within 20 s of the fleet recovering`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((await listAll()).summaries.find((s) => s.location === location)).toMatchObject({ head: 1 });
  });

  it("answers from the fleet object alone: a summary published for a location whose object holds nothing is listed as published", async () => {
    const location = "fleet-only";
    const published = summary(location, 42, Date.now(), { alerts: 3 });
    await fleet().publish(published);
    expect((await listAll()).summaries.find((s) => s.location === location)).toEqual(published);
    // Asking the location itself would have answered an empty log.
    expect((await parsed(await api(`/api/v1/locations/${location}`), locationResponse)).head).toBe(0);
  });

  it("pages 1,050 locations by name with limit 1–500: each once, code point order, `next` null at the end", async () => {
    const names = Array.from({ length: 1_050 }, (_, i) => `page-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => fleet().publish(summary(n))));
    for (const limit of [500, 137]) {
      const all = await listAll(limit);
      expect(all.names.filter((n) => n.startsWith("page-"))).toEqual(names);
      expect(new Set(all.names).size).toBe(all.names.length);
      expect([...all.names].sort(byCodePoint)).toEqual(all.names);
      expect(all.pages).toBe(Math.ceil(all.names.length / limit) + (all.names.length % limit === 0 ? 1 : 0) || 1);
    }
    const first = await listPage();
    expect(first.locations).toHaveLength(100); // the default limit
    expect(first.next).not.toBeNull();
  }, 60_000);

  it("a cursor round-trips every name the contract allows (東京, Zürich, 𠮷, spaces, dots)", async () => {
    const names = ["uni-Zürich", "uni-東京", "uni-𠮷野", "uni-a b.c_d-e", "uni-Ångström", "uni-\u00e9", "uni-\uff21"];
    for (const n of names) await fleet().publish(summary(n));
    const seen: string[] = [];
    let cursor = encodeLocationsCursor("uni-");
    for (;;) {
      const page = await listPage(`?limit=1&cursor=${cursor}`);
      const name = page.locations[0]?.location;
      if (name === undefined || !name.startsWith("uni-")) break;
      seen.push(name);
      if (page.next === null) break;
      expect(page.next).toMatch(/^[A-Za-z0-9_-]+$/); // URL-safe as it is
      cursor = page.next;
    }
    expect(seen).toEqual([...names].sort(byCodePoint));
    expect(seen.indexOf("uni-𠮷野")).toBe(seen.length - 1); // after U+FF21: code points, not UTF-16 units
  });

  it("an empty last page answers next: null", async () => {
    const last = (await listAll()).names.at(-1) ?? "a";
    const page = await listPage(`?cursor=${encodeLocationsCursor(last)}`);
    expect(page).toEqual({ locations: [], next: null });
  });

  const NOT_OURS = "cursor: not a cursor this API issued (start over without it)";
  const b64 = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  it.each([
    ["limit=0", ["limit: must be at least 1"]],
    ["limit=501", ["limit: must be at most 500"]],
    ["limit=-1", ["limit: must be a non-negative integer"]],
    ["limit=1.5", ["limit: must be a non-negative integer"]],
    ["limit=x", ["limit: must be a non-negative integer"]],
    ["limit=", ["limit: must be a non-negative integer"]],
    ["cursor=", [`${NOT_OURS}: not base64url`]],
    ["cursor=!!!!", [`${NOT_OURS}: not base64url`]],
    ["cursor=abc%2B", [`${NOT_OURS}: not base64url`]],
    ["cursor=a", [`${NOT_OURS}: not base64url`]],
    [`cursor=${b64("not json")}`, [`${NOT_OURS}: not UTF-8 JSON`]],
    [`cursor=${b64("\xff\xfe")}`, [`${NOT_OURS}: not UTF-8 JSON`]],
    [`cursor=${b64('{"after":"a/b"}')}`, [`${NOT_OURS}: after: location may hold only letters, digits, space, '_', '.', '-', must start with a letter or digit and must not end with a space`]],
    [`cursor=${b64('{"after":"ok","admin":true}')}`, [`${NOT_OURS}: Unrecognized key: "admin"`]],
    [`cursor=${b64("[]")}`, [`${NOT_OURS}: Invalid input: expected object, received array`]],
    [`cursor=${"A".repeat(600)}`, ["cursor: must be at most 512 characters"]],
    ["limit=0&cursor=%25", ["limit: must be at least 1", `${NOT_OURS}: not base64url`]],
  ])("%s → 400 with reasons", async (query, issues) => {
    await expectError(await api(`/api/v1/locations?${query}`), 400, "invalid locations query", issues);
  });

  it("a cursor whose base64 has stray trailing bits is refused (one cursor, one spelling)", async () => {
    const good = encodeLocationsCursor("page-00012"); // 22 bytes of JSON: the last character carries 4 spare bits
    const last = good.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const tweaked = good.slice(0, -1) + alphabet[(alphabet.indexOf(last) + 1) % 64];
    expect(good.length % 4).not.toBe(0); // there are spare bits to tweak
    const res = await api(`/api/v1/locations?cursor=${tweaked}`);
    expect(res.status).toBe(400);
  });
});

describe("GET /api/v1/fleet/live", () => {
  it("without an upgrade → 426", async () => {
    await expectError(await api(FLEET_LIVE), 426, "expected a WebSocket upgrade");
  });

  it("snapshot of every summary, then one frame per change; a burst is coalesced into one frame", async () => {
    await fleet().publish(summary("live-a", 1));
    const { client, snapshot, parts } = await connectFleet();
    expect(parts).toBe(1);
    expect(snapshot.find((s) => s.location === "live-a")).toEqual(summary("live-a", 1, Date.parse(snapshot.find((s) => s.location === "live-a")!.window.to)));
    expect(snapshot.map((s) => s.location)).toEqual([...snapshot.map((s) => s.location)].sort(byCodePoint));

    await ingestOk([reading("live-b")]);
    const [change] = await changesUntil(client, ["live-b"]);
    expect(change!.locations.find((s) => s.location === "live-b")).toMatchObject({ head: 1, alerts: 0 });

    const burst = Array.from({ length: 20 }, (_, i) => `live-burst-${i}`);
    await Promise.all(burst.map((n) => fleet().publish(summary(n))));
    const frames = await changesUntil(client, burst);
    expect(frames).toHaveLength(1); // 20 publishes well within the 250 ms coalescing window
    expect(frames[0]!.locations.map((s) => s.location)).toEqual([...burst].sort(byCodePoint));

    expect(await fleet().publish(summary("live-a", 1, 0))).toEqual({ stored: false });
    expect(await client.drainTexts()).toEqual([]); // nothing stored, nothing sent (after the alarm would have run)
    client.close();
  });

  it("a change reaches every fleet socket, also after the object was evicted (hibernation, real alarm)", async () => {
    const [one, two] = [await connectFleet(), await connectFleet()];
    await evictDurableObject(fleet());
    await fleet().publish(summary("live-evicted", 3));
    for (const { client } of [one, two]) {
      const [frame] = await changesUntil(client, ["live-evicted"]);
      expect(frame!.locations.find((s) => s.location === "live-evicted")!.head).toBe(3);
      client.close();
    }
  });

  it('"ping" is answered "pong"; anything else closes with 1008', async () => {
    for (const message of ["hello", "PING", '{"type":"subscribe"}', new Uint8Array([1])]) {
      const { client } = await connectFleet();
      client.ws.send("ping");
      expect(await client.nextText()).toBe(PONG);
      client.ws.send(message);
      const closed = await client.waitClosed();
      expect(closed.code).toBe(CLOSE.policy);
      expect(closed.reason).toBe('fleet sockets are read-only; send only "ping"');
    }
  });

  it("splits a snapshot over 1 MB into frames, each under the cap, together every location once", async () => {
    const pad = "x".repeat(50);
    const names = Array.from({ length: 3_600 }, (_, i) => `split-${pad}-${String(i).padStart(4, "0")}`);
    // Means are unrounded floats, as a real window's are: ~370 bytes a summary, ~1.3 MB in all.
    const window = { temperature: 21.428571428571427, humidity: 43.857142857142854 };
    const started = Date.now();
    const publish = (n: string) => {
      const s = summary(n, 1, Date.now(), { alerts: 1 });
      return fleet().publish({ ...s, window: { ...s.window, ...window } });
    };
    for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map(publish));
    const elapsed = Date.now() - started;
    // The figure docs/ARCHITECTURE.md quotes for one Fleet's publish rate (RPC from this test's worker, 100 in flight).
    console.info(`fleet: ${names.length} publishes in ${elapsed} ms = ${Math.round((names.length * 1000) / elapsed)}/s`);
    const client = await LiveClient.open(FLEET_LIVE);
    const texts: string[] = [];
    for (;;) {
      texts.push(await client.nextText());
      const frame = frameOf(texts.at(-1)!);
      if (frame.type === "snapshot" && frame.part === frame.parts) break;
    }
    expect(texts.length).toBeGreaterThan(1);
    for (const t of texts) expect(new TextEncoder().encode(t).byteLength).toBeLessThanOrEqual(MAX_FLEET_FRAME_BYTES);
    const all = texts.flatMap((t) => (frameOf(t) as { locations: FleetSummary[] }).locations.map((s) => s.location));
    expect(all.filter((n) => n.startsWith("split-"))).toEqual(names);
    expect(new Set(all).size).toBe(all.length);
    expect(await fleet().size()).toBe(all.length);
    client.close();
  }, 60_000);
});
