import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  dailyResponse,
  heatmapResponse,
  hourlyLocalResponse,
  rankingResponse,
  rebuildResponse,
  settingsResponse,
  weeklyResponse,
  type LocationSettings,
} from "../../protocol";
import { api, expectError, ingestOk, locationPath, parsed, storedEvents } from "./support/api";
import { reading } from "./support/events";

const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
const putSettings = (location: string, body: unknown, headers: Record<string, string> = admin) =>
  api(locationPath(location, "/settings"), { method: "PUT", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
const setOk = async (location: string, settings: LocationSettings) => parsed(await putSettings(location, settings), settingsResponse);
const getSettings = async (location: string) => parsed(await api(locationPath(location, "/settings")), settingsResponse);

describe("settings", () => {
  it("default: UTC, always open, no seq; PUT logs a settings-set entry and GET reads it back", async () => {
    const location = "settings-basic";
    expect(await getSettings(location)).toEqual({ location, settings: { timeZone: "UTC" }, seq: null });
    const settings: LocationSettings = { timeZone: "Asia/Kolkata", openingHours: { mon: [["09:00", "17:30"]] }, displayName: "Bengaluru desk", digestAt: "08:00" };
    expect(await setOk(location, settings)).toEqual({ location, settings, seq: 1 });
    expect(await getSettings(location)).toEqual({ location, settings, seq: 1 });
    const log = await storedEvents(location);
    expect(log).toEqual([expect.objectContaining({ seq: 1, id: "~settings-1", type: "settings-set", settings })]);
    // The same settings again change nothing: no second entry.
    expect(await setOk(location, settings)).toEqual({ location, settings, seq: 1 });
    expect(await storedEvents(location)).toHaveLength(1);
  });

  it.each([
    ["an unknown zone", { timeZone: "Europe/Atlantis" }, ['timeZone: unknown time zone "Europe/Atlantis": use an IANA name such as Europe/London or America/New_York']],
    ["25:00", { timeZone: "UTC", openingHours: { fri: [["25:00", "26:00"]] } }, ["openingHours.fri.0.0: opening time must be a time from 00:00 to 23:59", "openingHours.fri.0.1: closing time must be a time from 00:00 to 24:00"]],
    ["24:01", { timeZone: "UTC", openingHours: { fri: [["20:00", "24:01"]] } }, ["openingHours.fri.0.1: closing time must be a time from 00:00 to 24:00"]],
    ["a reversed span", { timeZone: "UTC", openingHours: { fri: [["18:00", "09:00"]] } }, ["openingHours.fri.0: 18:00–09:00 is reversed or empty: the opening time must be before the closing time (split spans past midnight over two days)"]],
    ["overlapping spans", { timeZone: "UTC", openingHours: { fri: [["09:00", "13:00"], ["12:00", "18:00"]] } }, ["openingHours.fri.1: 12:00–18:00 overlaps 09:00–13:00"]],
    ["an unknown weekday", { timeZone: "UTC", openingHours: { fry: [] } }, ['openingHours: unknown weekday "fry": use mon, tue, wed, thu, fri, sat, sun']],
    ["a bad digest time", { timeZone: "UTC", digestAt: "7am" }, ['digestAt: digestAt must be "HH:MM" (24-hour clock)']],
  ])("%s → 400 with reasons, nothing changed", async (_, body, issues) => {
    const location = "settings-bad";
    await setOk(location, { timeZone: "Europe/London" });
    await expectError(await putSettings(location, body), 400, "invalid settings", issues);
    expect(await getSettings(location)).toEqual({ location, settings: { timeZone: "Europe/London" }, seq: 1 });
    expect(await storedEvents(location)).toHaveLength(1);
  });

  it("not JSON → 400; no admin token → 401; nothing stored", async () => {
    const location = "settings-auth";
    await expectError(await putSettings(location, "{"), 400, "body is not valid JSON");
    const res = await putSettings(location, { timeZone: "UTC" }, { "content-type": "application/json" });
    expect(res.status).toBe(401);
    await res.body?.cancel();
    expect(await storedEvents(location)).toEqual([]);
  });
});

describe("local calendar reads", () => {
  it("setting America/New_York shifts the same events into other days, hours and weekday cells", async () => {
    const location = "Paoli-shift";
    // 2026-12-03 02:00 UTC is 21:00 on 2 December in New York; 14:00 UTC is 09:00 on the 3rd.
    await ingestOk([
      reading(location, { occurredAt: "2026-12-03T02:00:00Z", vote: 1 }),
      reading(location, { occurredAt: "2026-12-03T14:00:00Z", vote: 0, deviceId: "dev-2" }),
      reading(location, { occurredAt: "2026-12-03T14:10:00Z", vote: 0.5, temperature: 20, humidity: 40 }),
    ]);
    const daily = async () => parsed(await api(locationPath(location, "/daily?from=2026-12-02&to=2026-12-03")), dailyResponse);
    const utc = await daily();
    expect(utc.timeZone).toBe("UTC");
    expect(utc.days.map((d) => [d.date, d.votes, d.happy, d.neutral, d.sad, d.devices])).toEqual([
      ["2026-12-02", 0, 0, 0, 0, 0],
      ["2026-12-03", 3, 1, 1, 1, 2],
    ]);
    await setOk(location, { timeZone: "America/New_York" });
    const ny = await daily();
    expect(ny.timeZone).toBe("America/New_York");
    expect(ny.days.map((d) => [d.date, d.start, d.hours, d.votes, d.score])).toEqual([
      ["2026-12-02", "2026-12-02T05:00:00.000Z", 24, 1, 1],
      ["2026-12-03", "2026-12-03T05:00:00.000Z", 24, 2, 0.25],
    ]);
    expect(ny.days[1]).toMatchObject({ temperature: 20, humidity: 40 });

    const hours = await parsed(await api(locationPath(location, "/hourly?from=2026-12-03T14:00:00Z&to=2026-12-03T15:00:00Z")), hourlyLocalResponse);
    expect(hours.hours.map((h) => [h.hour, h.local, h.votes])).toEqual([["2026-12-03T14:00:00.000Z", "2026-12-03T09:00:00-05:00", 2]]);

    const weekly = await parsed(await api(locationPath(location, "/weekly?from=2026-12-03&to=2026-12-03")), weeklyResponse);
    expect(weekly.weeks.map((w) => [w.week, w.from, w.to, w.votes, w.hours])).toEqual([["2026-W49", "2026-11-30", "2026-12-06", 3, 168]]);
  });

  it("a Kolkata location's hours start at :30 UTC; openOnly leaves closed hours out", async () => {
    const location = "kolkata-hours";
    await setOk(location, { timeZone: "Asia/Kolkata", openingHours: { thu: [["16:00", "17:00"]] } });
    await ingestOk([
      reading(location, { occurredAt: "2026-12-03T10:29:00Z", vote: 0 }), // 15:59 local: closed
      reading(location, { occurredAt: "2026-12-03T10:30:00Z", vote: 1 }), // 16:00 local: open
    ]);
    const q = "?from=2026-12-03T10:00:00Z&to=2026-12-03T11:00:00Z";
    const all = await parsed(await api(locationPath(location, `/hourly${q}`)), hourlyLocalResponse);
    expect(all.hours.map((h) => [h.hour, h.local, h.closed, h.votes])).toEqual([
      ["2026-12-03T09:30:00.000Z", "2026-12-03T15:00:00+05:30", true, 1],
      ["2026-12-03T10:30:00.000Z", "2026-12-03T16:00:00+05:30", false, 1],
    ]);
    const open = await parsed(await api(locationPath(location, `/hourly${q}&openOnly=true`)), hourlyLocalResponse);
    expect(open.openOnly).toBe(true);
    expect(open.hours.map((h) => [h.local, h.votes, h.score])).toEqual([["2026-12-03T16:00:00+05:30", 1, 1]]);
    const day = await parsed(await api(locationPath(location, "/daily?from=2026-12-03&to=2026-12-03&openOnly=true")), dailyResponse);
    expect(day.days.map((d) => [d.openHours, d.votes])).toEqual([[1, 1]]);
  });

  it("hourly with only `from` runs to the current local hour (a week is 168 or 169 rows)", async () => {
    const location = "hourly-from-only";
    await setOk(location, { timeZone: "Asia/Kathmandu" });
    const from = new Date(Date.now() - 7 * 24 * 3_600_000).toISOString();
    const { hours } = await parsed(await api(locationPath(location, `/hourly?from=${from}`)), hourlyLocalResponse);
    expect(hours.length).toBeGreaterThanOrEqual(168);
    expect(hours.length).toBeLessThanOrEqual(169);
    expect(hours.every((h) => h.local.endsWith("+05:45") && h.local.slice(14, 19) === "00:00")).toBe(true);
    expect(Date.parse(hours.at(-1)!.hour)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(hours.at(-1)!.hour) + 3_600_000).toBeGreaterThan(Date.now());
  });

  it("a London DST day has 25 hours and counts exactly its events", async () => {
    const location = "london-dst";
    await setOk(location, { timeZone: "Europe/London" });
    await ingestOk([
      reading(location, { occurredAt: "2026-10-24T22:59:59Z", vote: 1 }),
      reading(location, { occurredAt: "2026-10-24T23:00:00Z", vote: 0 }),
      reading(location, { occurredAt: "2026-10-25T23:59:59Z", vote: 0 }),
      reading(location, { occurredAt: "2026-10-26T00:00:00Z", vote: 1 }),
    ]);
    const { days } = await parsed(await api(locationPath(location, "/daily?from=2026-10-25&to=2026-10-25")), dailyResponse);
    expect(days.map((d) => [d.date, d.hours, d.votes, d.sad])).toEqual([["2026-10-25", 25, 2, 2]]);
  });

  it("heatmap: 168 cells over the weeks ending today; the totals are the events in range", async () => {
    const location = "heatmap-now";
    await ingestOk([reading(location, { vote: 1 }), reading(location, { vote: 0, deviceId: "dev-2" })]);
    const map = await parsed(await api(locationPath(location, "/heatmap?weeks=1")), heatmapResponse);
    expect(map.cells).toHaveLength(168);
    expect(map.weeks).toBe(1);
    expect(map.cells.reduce((n, c) => n + c.votes, 0)).toBe(2);
    const now = new Date();
    const cell = map.cells.find((c) => c.votes > 0)!;
    expect([cell.weekday, cell.hour, cell.score]).toEqual([((now.getUTCDay() + 6) % 7) + 1, now.getUTCHours(), 0.5]);
    expect(map.to).toBe(now.toISOString().slice(0, 10));
  });

  it.each([
    ["/daily?from=2026-12-04&to=2026-12-03", "invalid daily query", ["from must not be after to"]],
    ["/daily?from=2025-01-01&to=2026-12-03", "invalid daily query", ["at most 366 days per request"]],
    ["/daily?from=2026-02-30", "invalid daily query", ["from: must be a real calendar date YYYY-MM-DD"]],
    ["/daily?from=03.12.2026", "invalid daily query", ["from: must be a date YYYY-MM-DD"]],
    ["/daily?openOnly=yes", "invalid daily query", ["openOnly: must be true or false"]],
    ["/weekly?from=2025-01-01&to=2026-12-03", "invalid weekly query", ["at most 53 weeks per request"]],
    ["/heatmap?weeks=0", "invalid heatmap query", ["weeks: must be at least 1"]],
    ["/heatmap?weeks=53", "invalid heatmap query", ["weeks: must be at most 52"]],
    ["/heatmap?weeks=two", "invalid heatmap query", ["weeks: must be a whole number of weeks"]],
    ["/hourly?from=2026-12-03T10:00:00Z&to=2026-12-03T10:00:00Z", "invalid hourly query", ["from must be before to"]],
    ["/export?format=xml", "invalid export query", ["format: must be csv or ndjson"]],
    ["/export?from=2026-12-04&to=2026-12-01", "invalid export query", ["from must not be after to"]],
    ["/export?from=2024-01-01&to=2026-01-01", "invalid export query", ["at most 366 days per request"]],
    ["/export?unit=K", "invalid export query", ["unit: must be C or F"]],
  ])("GET %s → 400", async (path, error, issues) => {
    await expectError(await api(locationPath("calendar-bad-query", path)), 400, error, issues);
  });
});

describe("export", () => {
  const location = "export-me";
  const events = [
    reading(location, { occurredAt: "2026-12-01T23:59:59.999Z", vote: 1 }), // the day before (UTC)
    reading(location, { occurredAt: "2026-12-02T00:00:00Z", vote: 0.5, temperature: 21.4, humidity: 34.1 }),
    reading(location, { occurredAt: "2026-12-02T12:00:00.123Z", deviceId: "dev-2", vote: undefined, temperature: 19.25 }),
    reading(location, { occurredAt: "2026-12-03T08:00:00Z", vote: 0, humidity: 50 }),
  ];

  it("CSV: a header and one row per reading in the days, parsing back to the stored events; °F on request", async () => {
    await ingestOk(events);
    const res = await api(locationPath(location, "/export?from=2026-12-02&to=2026-12-03&format=csv"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toContain("happy-hub-export-me-2026-12-02.csv");
    const text = await res.text();
    const lines = text.split("\r\n");
    expect(lines[0]).toBe("seq,id,device,occurred_at_utc,occurred_at_local,vote,temperature_c,humidity_pct");
    expect(lines.at(-1)).toBe("");
    const stored = (await storedEvents(location)).slice(1);
    expect(stored).toHaveLength(3);
    expect(lines.slice(1, -1)).toEqual([
      `2,${stored[0]!.id},dev-1,2026-12-02T00:00:00.000Z,2026-12-02T00:00:00.000+00:00,0.5,21.4,34.1`,
      `3,${stored[1]!.id},dev-2,2026-12-02T12:00:00.123Z,2026-12-02T12:00:00.123+00:00,,19.25,`,
      `4,${stored[2]!.id},dev-1,2026-12-03T08:00:00.000Z,2026-12-03T08:00:00.000+00:00,0,,50`,
    ]);
    const f = await (await api(locationPath(location, "/export?from=2026-12-02&to=2026-12-02&unit=F"))).text();
    expect(f.split("\r\n")[0]).toContain("temperature_f");
    expect(f.split("\r\n")[1]!.split(",")[6]).toBe("70.52");
  });

  it("NDJSON: one JSON reading per line, the stored events exactly; local times follow the settings", async () => {
    const ndLocation = "export-nd";
    const mine = events.map((e) => ({ ...e, location: ndLocation, id: `${e.id}-nd` }));
    await ingestOk(mine);
    await setOk(ndLocation, { timeZone: "America/New_York" });
    const res = await api(locationPath(ndLocation, "/export?from=2026-12-01&to=2026-12-02&format=ndjson"));
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    const rows = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const stored = await storedEvents(ndLocation);
    // New York's 1–2 December run 05:00 UTC on the 1st to 05:00 UTC on the 3rd: the first three readings.
    expect(rows).toEqual(
      stored
        .filter((e) => e.type === "reading")
        .slice(0, 3)
        .map((e) => {
          const { recordedAt: _r, type: _t, ...rest } = e as typeof e & { type: "reading" };
          return { ...rest, local: expect.stringMatching(/-05:00$/) };
        }),
    );
    expect(rows[0]!.local).toBe("2026-12-01T18:59:59.999-05:00");
  });

  it("streams a log longer than a page, and an empty location is a header alone", async () => {
    const big = "export-big";
    const n = 2_500;
    for (let i = 0; i < n; i += 1000) {
      await ingestOk(Array.from({ length: Math.min(1000, n - i) }, (_, k) => reading(big, { occurredAt: Date.UTC(2026, 11, 2, 0, 0, 0) + (i + k) * 1000, vote: 1 })));
    }
    const res = await api(locationPath(big, "/export?from=2026-12-02&to=2026-12-02&format=ndjson"));
    const reader = res.body!.getReader();
    let chunks = 0;
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += new TextDecoder().decode(value);
    }
    expect(chunks).toBeGreaterThanOrEqual(3); // one per log page of 1,000 entries
    expect(text.trimEnd().split("\n").map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(await (await api(locationPath("export-empty", "/export"))).text()).toBe("seq,id,device,occurred_at_utc,occurred_at_local,vote,temperature_c,humidity_pct\r\n");
  });
});

describe("ranking", () => {
  it("ranks by today's score from the summaries locations push, with low-count flags and display names", async () => {
    await setOk("rank-a", { timeZone: "UTC", displayName: "Alpha" });
    await ingestOk(Array.from({ length: 20 }, () => reading("rank-a", { vote: 1 })));
    await ingestOk([reading("rank-b", { vote: 0.5 }), reading("rank-b", { vote: 0.5, deviceId: "dev-2" })]);
    await ingestOk([reading("rank-c", { vote: 0, deviceId: "c1" })]);
    const ranking = async () => (await parsed(await api("/api/v1/ranking?period=today"), rankingResponse)).locations.filter((l) => l.location.startsWith("rank-"));
    // Locations publish at most once a second; wait for the newest summaries.
    let rows = await ranking();
    for (let i = 0; i < 50 && rows.find((r) => r.location === "rank-a")?.votes !== 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await ranking();
    }
    expect(rows.map((r) => [r.location, r.displayName, r.votes, r.score, r.lowCount])).toEqual([
      ["rank-a", "Alpha", 20, 1, false],
      ["rank-b", null, 2, 0.5, true],
      ["rank-c", null, 1, 0, true],
    ]);
    expect(rows.map((r) => r.rank)).toEqual([...rows.map((r) => r.rank)].sort((a, b) => a - b));
    expect(rows[0]).toMatchObject({ previousVotes: 0, previousScore: null, change: null, timeZone: "UTC", date: new Date().toISOString().slice(0, 10) });
    const week = await parsed(await api("/api/v1/ranking?period=7d"), rankingResponse);
    expect(week.period).toBe("7d");
    await expectError(await api("/api/v1/ranking?period=year"), 400, "invalid ranking query", ["period: must be today, 7d or 30d"]);
  });
});

describe("projections from before the calendar", () => {
  it("a location whose log predates the quarter buckets rebuilds them from the log once, starting on load (chunked, by its alarm)", async () => {
    const location = "calendar-upgrade";
    await ingestOk([reading(location, { occurredAt: "2026-12-02T10:00:00Z", vote: 1 }), reading(location, { occurredAt: "2026-12-02T11:00:00Z", vote: 0 })]);
    const stub = env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
    const before = await stub.projectionRows();
    // What migration 4 leaves for a location that had a log: no quarters, and the flag.
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("DELETE FROM quarters");
      state.storage.sql.exec("INSERT INTO meta (key, value) VALUES ('calendar-rebuild', '1')");
    });
    await evictDurableObject(stub);
    // Loading starts a chunked rebuild; its alarm runs the chunks (a real alarm, not called by the test).
    await api(locationPath(location));
    const admin = { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } };
    const deadline = Date.now() + 20_000;
    while ((await parsed(await api(locationPath(location, "/rebuild"), admin), rebuildResponse)).state !== "done") {
      if (Date.now() > deadline) throw new Error("the rebuild started on load did not finish within 20 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { days } = await parsed(await api(locationPath(location, "/daily?from=2026-12-02&to=2026-12-02")), dailyResponse);
    expect(days.map((d) => [d.votes, d.score])).toEqual([[2, 0.5]]);
    expect(await stub.projectionRows()).toEqual(before);
    expect(await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT 1 FROM meta WHERE key = 'calendar-rebuild'").toArray().length)).toBe(0);
  });
});
