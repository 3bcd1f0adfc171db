import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { eventsPage, hourlyResponse, locationResponse, locationsResponse, rebuildResponse, type ScoreWindow } from "../../protocol";
import { app } from "../../worker/app";
import { api, expectError, ingestOk, locationPath, parsed, storedEvents } from "./support/api";
import { HOUR, MINUTE, isoFromNow, reading } from "./support/events";

/** `from` must be now − 60 minutes rounded up to the minute, `to` the time of the read. */
function expectWindowBounds(window: ScoreWindow, before: number, after: number): void {
  const to = Date.parse(window.to);
  expect(to).toBeGreaterThanOrEqual(before);
  expect(to).toBeLessThanOrEqual(after);
  expect(Date.parse(window.from)).toBe(Math.ceil((to - HOUR) / MINUTE) * MINUTE);
}

async function summary(location: string) {
  const before = Date.now();
  const body = await parsed(await api(locationPath(location)), locationResponse);
  expectWindowBounds(body.window, before, Date.now());
  expect(body.location).toBe(location);
  return body;
}

describe("GET /api/v1/locations/{location}", () => {
  it("an unknown location: head 0, an empty window with nulls", async () => {
    const body = await summary("never-seen");
    expect(body).toEqual({
      location: "never-seen",
      head: 0,
      window: { from: body.window.from, to: body.window.to, votes: 0, score: null, devices: 0, temperature: null, humidity: null },
    });
  });

  it("score is sum/count unrounded: votes 1 and 0.5 → 0.75", async () => {
    const location = "score-two";
    await ingestOk([reading(location, { vote: 1, occurredAt: isoFromNow(-10 * MINUTE) }), reading(location, { vote: 0.5 })]);
    const body = await summary(location);
    expect(body.head).toBe(2);
    expect(body.window).toMatchObject({ votes: 2, score: 0.75, devices: 1, temperature: null, humidity: null });
  });

  it("score of 1, 1, 0.5 is 0.8333… (not rounded, sum not rounded first)", async () => {
    const location = "score-three";
    await ingestOk([reading(location, { vote: 1 }), reading(location, { vote: 1, deviceId: "dev-2" }), reading(location, { vote: 0.5 })]);
    const { window } = await summary(location);
    expect(window.score).toBe(2.5 / 3);
    expect(window.votes).toBe(3);
  });

  it("devices are distinct ids with any event; temperature and humidity are means of the readings present", async () => {
    const location = "window-figures";
    await ingestOk([
      reading(location, { deviceId: "a", vote: 0, temperature: 20.5, occurredAt: isoFromNow(-58 * MINUTE) }),
      reading(location, { deviceId: "b", vote: undefined, temperature: 21.5, humidity: 30 }),
      reading(location, { deviceId: "a", vote: undefined, humidity: 45 }),
      reading(location, { deviceId: "c", vote: 1, humidity: 60, occurredAt: isoFromNow(3 * MINUTE) }),
      // Outside the window: in the log and the hourly history only.
      reading(location, { deviceId: "d", vote: 1, temperature: 99, humidity: 99, occurredAt: isoFromNow(-61 * MINUTE) }),
      reading(location, { deviceId: "e", vote: 0, occurredAt: isoFromNow(-3 * HOUR) }),
    ]);
    const body = await summary(location);
    expect(body.head).toBe(6);
    expect(body.window).toMatchObject({ votes: 2, score: 0.5, devices: 3, temperature: 21, humidity: 45 });
  });

  // DESIGN (normative): the window is "over the events whose occurredAt is at or after now − 60 minutes".
  // The window is summed from minute buckets: `from` is now − 60 minutes rounded up to the
  // minute, and it says exactly which events count (occurredAt ≥ from). See docs/ARCHITECTURE.md.
  it("counts an event at `from` and leaves out one a millisecond before it", async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const location = `window-edge-${attempt}`;
      const from = Math.ceil((Date.now() - HOUR) / 60_000) * 60_000;
      await ingestOk([reading(location, { occurredAt: from, vote: 1 }), reading(location, { occurredAt: from - 1, vote: 0 })]);
      const { window } = await parsed(await api(locationPath(location)), locationResponse);
      // Decidable only if the window was read in the same minute as `from` was computed; otherwise try again.
      if (Date.parse(window.from) !== from) continue;
      expect(window.votes, `window ${window.from} – ${window.to}`).toBe(1);
      expect(window.score).toBe(1);
      expect(Date.parse(window.from)).toBeGreaterThanOrEqual(Date.parse(window.to) - HOUR);
      expect(Date.parse(window.from) - (Date.parse(window.to) - HOUR)).toBeLessThan(60_000);
      return;
    }
    throw new Error("could not read the window within the same minute in 5 attempts");
  });

  it("a location with only old events has head > 0 and an empty window", async () => {
    const location = "window-old-only";
    await ingestOk([reading(location, { occurredAt: "2024-01-01T00:00:00Z", temperature: 10 })]);
    const body = await summary(location);
    expect(body.head).toBe(1);
    expect(body.window).toMatchObject({ votes: 0, score: null, devices: 0, temperature: null, humidity: null });
  });

  it("accepts a location with a space (URL-encoded) and echoes it decoded", async () => {
    const location = "Main Hall 2";
    await ingestOk([reading(location)]);
    expect((await summary(location)).head).toBe(1);
  });
});

describe("GET /api/v1/locations", () => {
  it("lists a location after its first stored event, with head, lastEventAt and window", async () => {
    const location = "listed-after-first";
    const listed = async () => (await parsed(await api("/api/v1/locations?limit=500"), locationsResponse)).locations.find((l) => l.location === location);

    await summary(location); // reading an unknown location does not register it
    await ingestOk([reading(location, { vote: 2 })]); // rejected: still nothing stored
    expect(await listed()).toBeUndefined();

    const before = Date.now();
    await ingestOk([reading(location, { vote: 1 }), reading(location, { vote: 0.5 })]);
    const after = Date.now();
    const entry = await listed();
    expect(entry).toBeDefined();
    expect(entry!.head).toBe(2);
    expect(Date.parse(entry!.lastEventAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(entry!.lastEventAt!)).toBeLessThanOrEqual(after);
    expect(entry!.lastEventAt).toBe((await storedEvents(location)).at(-1)!.recordedAt);
    expect(entry!.window).toMatchObject({ votes: 2, score: 0.75, devices: 1 });

    // Within a second of the last update the location coalesces: its alarm tells the fleet, about a second later.
    await ingestOk([reading(location)]);
    let again = await listed();
    for (const deadline = Date.now() + 3_000; again!.head !== 3 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 100));
      again = await listed();
    }
    expect(again!.head).toBe(3);
    expect(Date.parse(again!.lastEventAt!)).toBeGreaterThanOrEqual(Date.parse(entry!.lastEventAt!));
  });

  it("lists every location once, sorted by name", async () => {
    await ingestOk([reading("list-b"), reading("list-a"), reading("list-c")]);
    await ingestOk([reading("list-a")]);
    const names = (await parsed(await api("/api/v1/locations?limit=500"), locationsResponse)).locations.map((l) => l.location);
    expect(names.filter((n) => n.startsWith("list-"))).toEqual(["list-a", "list-b", "list-c"]);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(names);
  });
});

describe("GET /api/v1/locations/{location}/hourly", () => {
  const location = "hourly-history";
  const events = [
    reading(location, { deviceId: "a", occurredAt: "2024-03-10T10:15:00Z", vote: 1, temperature: 20 }),
    reading(location, { deviceId: "b", occurredAt: "2024-03-10T10:45:00Z", vote: 0, humidity: 40 }),
    reading(location, { deviceId: "a", occurredAt: "2024-03-10T12:05:00Z", vote: 0.5, temperature: 22, humidity: 50 }),
    reading(location, { deviceId: "c", occurredAt: "2024-03-10T12:59:59.999Z", vote: 1 }),
    reading(location, { deviceId: "a", occurredAt: "2024-03-10T13:00:00Z", vote: 0 }),
    reading(location, { deviceId: "z", occurredAt: "2024-03-10T09:59:59.999Z", vote: 0 }),
  ];
  const empty = { votes: 0, score: null, devices: 0, temperature: null, humidity: null };
  const expected = [
    { hour: "2024-03-10T10:00:00.000Z", votes: 2, score: 0.5, devices: 2, temperature: 20, humidity: 40 },
    { hour: "2024-03-10T11:00:00.000Z", ...empty },
    { hour: "2024-03-10T12:00:00.000Z", votes: 2, score: 0.75, devices: 2, temperature: 22, humidity: 50 },
  ];
  const hourly = async (query: string) => parsed(await api(locationPath(location, `/hourly${query}`)), hourlyResponse);
  beforeAll(async () => {
    await ingestOk(events);
  });

  it("one row per calendar hour, empty hours filled, edges in the right hour", async () => {
    expect((await hourly("?from=2024-03-10T10:00:00Z&to=2024-03-10T13:00:00Z")).hours).toEqual(expected);
  });

  it("widens from/to to whole hours and accepts epoch ms and offsets", async () => {
    expect((await hourly("?from=2024-03-10T10:30:00Z&to=2024-03-10T12:00:00.001Z")).hours).toEqual(expected);
    expect((await hourly(`?from=${Date.parse("2024-03-10T10:00:00Z")}&to=${Date.parse("2024-03-10T13:00:00Z")}`)).hours).toEqual(expected);
    expect((await hourly(`?from=${encodeURIComponent("2024-03-10T11:00:00+01:00")}&to=2024-03-10T13:00:00Z`)).hours).toEqual(expected);
    const four = (await hourly("?from=2024-03-10T10:00:00Z&to=2024-03-10T13:00:00.001Z")).hours;
    expect(four).toHaveLength(4);
    expect(four[3]).toEqual({ hour: "2024-03-10T13:00:00.000Z", votes: 1, score: 0, devices: 1, temperature: null, humidity: null });
  });

  it("defaults to the 24 hours ending with the current one", async () => {
    const recent = "hourly-default";
    await ingestOk([reading(recent, { vote: 1 }), reading(recent, { vote: 0, occurredAt: isoFromNow(-2 * HOUR) })]);
    const before = Date.now();
    const { hours } = await parsed(await api(locationPath(recent, "/hourly")), hourlyResponse);
    const currentHour = Math.floor(before / HOUR) * HOUR;
    expect(hours).toHaveLength(24);
    expect(hours.map((h) => Date.parse(h.hour))).toEqual(Array.from({ length: 24 }, (_, i) => currentHour - (23 - i) * HOUR));
    expect(hours.reduce((n, h) => n + h.votes, 0)).toBe(2);
  });

  it("only `to`: the 24 hours before it; 744 hours are allowed", async () => {
    const { hours } = await hourly("?to=2024-03-10T13:00:00Z");
    expect(hours).toHaveLength(24);
    expect(hours[0]!.hour).toBe("2024-03-09T13:00:00.000Z");
    expect(hours.slice(-3)).toEqual(expected);
    expect((await hourly("?from=2024-02-10T13:00:00Z&to=2024-03-12T13:00:00Z")).hours).toHaveLength(744);
  });

  it.each([
    ["?from=2024-03-10T13:00:00Z&to=2024-03-10T13:00:00Z", ["from must be before to"]],
    ["?from=2024-03-10T14:00:00Z&to=2024-03-10T10:00:00Z", ["from must be before to"]],
    ["?from=2024-02-10T12:00:00Z&to=2024-03-12T13:00:00Z", ["at most 744 hours per request"]],
    ["?from=2000-01-01T00:00:00Z&to=2024-03-12T13:00:00Z", ["at most 744 hours per request"]],
    ["?from=yesterday", ["from: must be an ISO 8601 date-time with a zone or epoch milliseconds"]],
    ["?to=2024-03-10T13:00:00", ["to: must be an ISO 8601 date-time with a zone or epoch milliseconds"]],
    ["?from=1999-12-31T00:00:00Z&to=2000-01-01T01:00:00Z", ["from: must be a date on or after 2000-01-01"]],
    ["?from=", ["from: must be an ISO 8601 date-time with a zone or epoch milliseconds"]],
    ["?from=-5&to=2024-03-10T13:00:00Z", ["from: must be an ISO 8601 date-time with a zone or epoch milliseconds"]],
  ])("bad query %s → 400", async (query, issues) => {
    await expectError(await api(locationPath(location, `/hourly${query}`)), 400, "invalid hourly query", issues);
  });
});

describe("GET /api/v1/locations/{location}/events", () => {
  const location = "paging";
  beforeAll(async () => {
    await ingestOk(Array.from({ length: 3 }, (_, i) => reading(location, { id: `page-${i + 1}` })));
    await ingestOk(Array.from({ length: 4 }, (_, i) => reading(location, { id: `page-${i + 4}` })));
  });
  const page = async (query: string) => parsed(await api(locationPath(location, `/events${query}`)), eventsPage);
  const ids = (p: { events: { id: string }[] }) => p.events.map((e) => e.id);

  it("pages by seq with after/limit; next is the last seq, null at the head", async () => {
    const p1 = await page("?after=0&limit=3");
    expect(p1.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(p1.next).toBe(3);
    const p2 = await page("?after=3&limit=3");
    expect(ids(p2)).toEqual(["page-4", "page-5", "page-6"]);
    expect(p2.next).toBe(6);
    const p3 = await page("?after=6&limit=3");
    expect(ids(p3)).toEqual(["page-7"]);
    expect(p3.next).toBeNull();
  });

  it("pages that start or end inside a committed batch", async () => {
    expect(ids(await page("?after=2&limit=3"))).toEqual(["page-3", "page-4", "page-5"]);
    expect(ids(await page("?after=4&limit=1"))).toEqual(["page-5"]);
    const exact = await page("?after=3&limit=4");
    expect(ids(exact)).toEqual(["page-4", "page-5", "page-6", "page-7"]);
    expect(exact.next).toBeNull();
  });

  it("defaults: after=0, limit=100; past the head an empty page with next null", async () => {
    const all = await page("");
    expect(all.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(all.next).toBeNull();
    expect(await page("?after=7")).toEqual({ events: [], next: null });
    expect(await page("?after=999999999999999&limit=1000")).toEqual({ events: [], next: null });

    const big = "paging-default-limit";
    await ingestOk(Array.from({ length: 150 }, () => reading(big)));
    const first = await parsed(await api(locationPath(big, "/events")), eventsPage);
    expect(first.events).toHaveLength(100);
    expect(first.next).toBe(100);
    const rest = await parsed(await api(locationPath(big, "/events?after=100&limit=1000")), eventsPage);
    expect(rest.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 101 + i));
  });

  it("an unknown location has an empty log", async () => {
    expect(await parsed(await api(locationPath("paging-unknown", "/events")), eventsPage)).toEqual({ events: [], next: null });
  });

  it.each([
    ["?limit=0", ["limit: must be at least 1"]],
    ["?limit=1001", ["limit: must be at most 1000"]],
    ["?limit=-1", ["limit: must be a non-negative integer"]],
    ["?limit=1e3", ["limit: must be a non-negative integer"]],
    ["?limit=", ["limit: must be a non-negative integer"]],
    ["?after=-1", ["after: must be a non-negative integer"]],
    ["?after=1.5", ["after: must be a non-negative integer"]],
    ["?after=abc", ["after: must be a non-negative integer"]],
    ["?after=0x10", ["after: must be a non-negative integer"]],
    ["?after=1234567890123456", ["after: must be a non-negative integer"]],
    ["?after=x&limit=0", ["after: must be a non-negative integer", "limit: must be at least 1"]],
  ])("bad query %s → 400", async (query, issues) => {
    await expectError(await api(locationPath(location, `/events${query}`)), 400, "invalid events query", issues);
  });
});

describe("GET /api/v1/locations/{location}/devices", () => {
  it("each device's last-seen time and latest readings; a late event never overwrites a newer reading", async () => {
    const location = "devices";
    const t = Date.now();
    await ingestOk([
      reading(location, { deviceId: "dev-x", vote: 1, temperature: 20, occurredAt: t - 10 * MINUTE }),
      reading(location, { deviceId: "dev-y", vote: undefined, temperature: 30, occurredAt: t - 5 * MINUTE }),
    ]);
    // Late: older than what dev-x already reported, but its first humidity.
    await ingestOk([reading(location, { deviceId: "dev-x", vote: 0, humidity: 55, occurredAt: t - 20 * MINUTE })]);
    const devices = async () => {
      const res = await api(locationPath(location, "/devices"));
      expect(res.status).toBe(200);
      return res.json();
    };
    expect(await devices()).toEqual({
      devices: [
        { deviceId: "dev-x", lastSeenAt: new Date(t - 10 * MINUTE).toISOString(), vote: 1, temperature: 20, humidity: 55, health: null, registration: null },
        { deviceId: "dev-y", lastSeenAt: new Date(t - 5 * MINUTE).toISOString(), vote: null, temperature: 30, humidity: null, health: null, registration: null },
      ],
    });
    await ingestOk([reading(location, { deviceId: "dev-x", vote: 0.5, occurredAt: t - MINUTE })]);
    expect(((await devices()) as { devices: unknown[] }).devices[0]).toEqual({
      deviceId: "dev-x",
      lastSeenAt: new Date(t - MINUTE).toISOString(),
      vote: 0.5,
      temperature: 20,
      humidity: 55,
      health: null,
      registration: null,
    });
  });

  it("an unknown location has no devices", async () => {
    const res = await api(locationPath("devices-unknown", "/devices"));
    expect(await res.json()).toEqual({ devices: [] });
  });
});

describe("admin routes: POST/GET …/rebuild and GET …/stats", () => {
  const location = "admin";
  const admin = (path: string, method: string, authorization?: string) =>
    api(locationPath(location, path), { method, headers: authorization ? { authorization } : {} });

  it.each([
    ["/rebuild", "POST"],
    ["/rebuild", "GET"],
    ["/stats", "GET"],
  ])("%s: 401 without a token, with a wrong one, or with the ingest token", async (path, method) => {
    await expectError(await admin(path, method), 401, "missing bearer token");
    await expectError(await admin(path, method, "Bearer nope"), 401, "invalid bearer token");
    await expectError(await admin(path, method, `Bearer ${env.INGEST_TOKEN}`), 401, "invalid bearer token");
  });

  it("503 when ADMIN_TOKEN is not configured", async () => {
    const unconfigured = { ...env, ADMIN_TOKEN: undefined } as Env;
    const res = await app.request(locationPath(location, "/rebuild"), { method: "POST", headers: { authorization: "Bearer x" } }, unconfigured);
    await expectError(res, 503, "ADMIN_TOKEN is not configured");
  });

  it("stats count appends, accepted, duplicates and rows; rebuild leaves every read unchanged", async () => {
    const auth = `Bearer ${env.ADMIN_TOKEN}`;
    const batch = [reading(location, { vote: 1, temperature: 21 }), reading(location, { vote: 0, occurredAt: isoFromNow(-90 * MINUTE) })];
    await ingestOk(batch);
    await ingestOk([...batch, reading(location, { humidity: 40 })]);
    const statsRes = await admin("/stats", "GET", auth);
    expect(statsRes.status).toBe(200);
    const stats = (await statsRes.json()) as Record<string, number | string>;
    expect(stats).toEqual({
      location,
      appends: 2,
      accepted: 3,
      duplicates: 2,
      rowsWritten: expect.any(Number),
      checkpoints: expect.any(Number),
      alarms: expect.any(Number),
    });
    expect(stats.rowsWritten).toBeGreaterThanOrEqual(3);

    const reads = async () => ({
      window: (await parsed(await api(locationPath(location)), locationResponse)).window,
      hourly: await (await api(locationPath(location, "/hourly"))).json(),
      devices: await (await api(locationPath(location, "/devices"))).json(),
      events: await storedEvents(location),
    });
    const before = await reads();
    expect(await parsed(await admin("/rebuild", "GET", auth), rebuildResponse)).toEqual({
      location,
      state: "idle",
      events: 0,
      head: 3,
      chunks: 0,
      rowsWritten: 0,
      startedAt: null,
      finishedAt: null,
    });
    // Three events fit the first chunk: the POST's own chunk swaps the new projections in.
    const rebuilt = await parsed(await admin("/rebuild", "POST", auth), rebuildResponse, 202);
    expect(rebuilt).toEqual({
      location,
      state: "done",
      events: 3,
      head: 3,
      chunks: 1,
      rowsWritten: expect.any(Number),
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    expect(rebuilt.rowsWritten).toBeGreaterThan(0);
    expect(await parsed(await admin("/rebuild", "GET", auth), rebuildResponse)).toEqual(rebuilt);
    const after = await reads();
    expect({ ...after, window: { ...after.window, to: null, from: null } }).toEqual({ ...before, window: { ...before.window, to: null, from: null } });
  });
});
