import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ReadingFact } from "../../../domain/projections";
import { emptyCalendar, foldQuarter, type QuarterBucket } from "../../../domain/calendar/quarters";
import { dailyRows, dayTallies, heatmapCells, hourlySpan, localHours, weeklyRows } from "../../../domain/calendar/series";
import { periodTallies, rankLocations } from "../../../domain/calendar/ranking";
import { dayNumber } from "../../../domain/calendar/zone";
import type { LocationSettings } from "../../../protocol/settings";

const at = (iso: string) => Date.parse(iso);
const quarters = (facts: ReadingFact[]): QuarterBucket[] => {
  const calendar = emptyCalendar();
  for (const f of facts) foldQuarter(calendar, f);
  return [...calendar.quarters.values()];
};
const vote = (iso: string, v: 0 | 0.5 | 1, deviceId = "d1"): ReadingFact => ({ deviceId, occurredAt: at(iso), vote: v });
const zone = (timeZone: string, extra: Partial<LocationSettings> = {}): LocationSettings => ({ timeZone, ...extra });

describe("localHours", () => {
  it("Europe/London, 2026-10-25: the repeated 01:00 is two rows, one per offset, each with its own events", () => {
    const s = zone("Europe/London");
    const facts = [vote("2026-10-25T00:10:00Z", 1), vote("2026-10-25T01:10:00Z", 0), vote("2026-10-25T01:20:00Z", 0)];
    const span = hourlySpan(s, at("2026-10-24T23:00:00Z"), at("2026-10-25T03:00:00Z"));
    const rows = localHours(quarters(facts), s, span.from, span.to);
    expect(rows.map((r) => [r.local, r.minutes, r.votes, r.happy, r.sad])).toEqual([
      ["2026-10-25T00:00:00+01:00", 60, 0, 0, 0],
      ["2026-10-25T01:00:00+01:00", 60, 1, 1, 0],
      ["2026-10-25T01:00:00+00:00", 60, 2, 0, 2],
      ["2026-10-25T02:00:00+00:00", 60, 0, 0, 0],
    ]);
  });

  it("Europe/London, 2026-03-29: 01:00 does not exist, so no row for it", () => {
    const s = zone("Europe/London");
    const rows = localHours([], s, at("2026-03-29T00:00:00Z"), at("2026-03-29T03:00:00Z"));
    expect(rows.map((r) => r.local)).toEqual(["2026-03-29T00:00:00+00:00", "2026-03-29T02:00:00+01:00", "2026-03-29T03:00:00+01:00"]);
  });

  it("Asia/Kolkata: hours start at :30 UTC, and from/to widen to them", () => {
    const s = zone("Asia/Kolkata");
    const span = hourlySpan(s, at("2026-12-03T10:00:00Z"), at("2026-12-03T11:00:00Z"));
    expect([new Date(span.from).toISOString(), new Date(span.to).toISOString()]).toEqual(["2026-12-03T09:30:00.000Z", "2026-12-03T11:30:00.000Z"]);
    const rows = localHours(quarters([vote("2026-12-03T10:29:59Z", 1), vote("2026-12-03T10:30:00Z", 0)]), s, span.from, span.to);
    expect(rows.map((r) => [r.hour, r.local, r.votes, r.score])).toEqual([
      ["2026-12-03T09:30:00.000Z", "2026-12-03T15:00:00+05:30", 1, 1],
      ["2026-12-03T10:30:00.000Z", "2026-12-03T16:00:00+05:30", 1, 0],
    ]);
  });

  it("Asia/Kathmandu: hours start at :15 UTC", () => {
    const s = zone("Asia/Kathmandu");
    const span = hourlySpan(s, at("2026-12-03T10:20:00Z"), at("2026-12-03T10:21:00Z"));
    expect(localHours([], s, span.from, span.to).map((r) => [r.hour, r.local])).toEqual([["2026-12-03T10:15:00.000Z", "2026-12-03T16:00:00+05:45"]]);
  });

  it("Australia/Lord_Howe, 2026-04-05: the half hour repeated is a 30-minute row", () => {
    const s = zone("Australia/Lord_Howe");
    const rows = localHours([], s, at("2026-04-04T14:00:00Z"), at("2026-04-04T16:30:00Z"));
    expect(rows.map((r) => [r.local, r.minutes])).toEqual([
      ["2026-04-05T01:00:00+11:00", 60],
      ["2026-04-05T01:30:00+10:30", 30],
      ["2026-04-05T02:00:00+10:30", 60],
    ]);
  });

  it("closed hours are flagged, and openOnly leaves them (and closed quarters) out", () => {
    const s = zone("UTC", { openingHours: { wed: [["09:00", "09:30"]] } });
    const facts = [vote("2026-12-02T08:10:00Z", 0), vote("2026-12-02T09:10:00Z", 1), vote("2026-12-02T09:40:00Z", 0)];
    const all = localHours(quarters(facts), s, at("2026-12-02T08:00:00Z"), at("2026-12-02T10:00:00Z"));
    expect(all.map((r) => [r.closed, r.votes])).toEqual([[true, 1], [false, 2]]);
    const open = localHours(quarters(facts), s, at("2026-12-02T08:00:00Z"), at("2026-12-02T10:00:00Z"), true);
    expect(open.map((r) => [r.local, r.votes, r.score])).toEqual([["2026-12-02T09:00:00+00:00", 1, 1]]);
  });
});

describe("dailyRows and weeklyRows", () => {
  it("Europe/London's 23- and 25-hour days count exactly their events", () => {
    const s = zone("Europe/London");
    const facts = [
      vote("2026-10-24T22:59:59Z", 1), // 23:59:59 BST on the 24th
      vote("2026-10-24T23:00:00Z", 0), // 00:00 BST on the 25th
      vote("2026-10-25T23:59:59Z", 0.5), // 23:59:59 GMT on the 25th
      vote("2026-10-26T00:00:00Z", 1), // the 26th
    ];
    const rows = dailyRows(quarters(facts), s, dayNumber("2026-10-24"), dayNumber("2026-10-26"));
    expect(rows.map((r) => [r.date, r.hours, r.votes, r.happy, r.neutral, r.sad, r.start])).toEqual([
      ["2026-10-24", 24, 1, 1, 0, 0, "2026-10-23T23:00:00.000Z"],
      ["2026-10-25", 25, 2, 0, 1, 1, "2026-10-24T23:00:00.000Z"],
      ["2026-10-26", 24, 1, 1, 0, 0, "2026-10-26T00:00:00.000Z"],
    ]);
    expect(dailyRows([], s, dayNumber("2026-03-29"), dayNumber("2026-03-29"))[0]!.hours).toBe(23);
  });

  it("the same events fall on other days in America/New_York", () => {
    const facts = [vote("2026-12-03T02:00:00Z", 1), vote("2026-12-03T12:00:00Z", 0)];
    const utc = dailyRows(quarters(facts), zone("UTC"), dayNumber("2026-12-02"), dayNumber("2026-12-03"));
    const ny = dailyRows(quarters(facts), zone("America/New_York"), dayNumber("2026-12-02"), dayNumber("2026-12-03"));
    expect(utc.map((r) => r.votes)).toEqual([0, 2]);
    expect(ny.map((r) => r.votes)).toEqual([1, 1]);
  });

  it("open hours and openOnly", () => {
    const s = zone("UTC", { openingHours: { mon: [["08:00", "12:00"], ["13:00", "17:30"]] } });
    const facts = [vote("2026-11-30T07:00:00Z", 0), vote("2026-11-30T09:00:00Z", 1), vote("2026-12-01T09:00:00Z", 0)];
    const rows = dailyRows(quarters(facts), s, dayNumber("2026-11-30"), dayNumber("2026-12-01"));
    expect(rows.map((r) => [r.openHours, r.closed, r.votes])).toEqual([[8.5, false, 2], [0, true, 1]]);
    const open = dailyRows(quarters(facts), s, dayNumber("2026-11-30"), dayNumber("2026-12-01"), true);
    expect(open.map((r) => [r.votes, r.score])).toEqual([[1, 1], [0, null]]);
  });

  it("ISO weeks run Monday to Sunday in local time, devices distinct across the week", () => {
    const s = zone("Asia/Kolkata");
    const facts = [vote("2026-11-29T18:29:00Z", 1, "a"), vote("2026-11-29T18:30:00Z", 0, "a"), vote("2026-12-06T18:29:00Z", 1, "b")];
    const rows = weeklyRows(quarters(facts), s, dayNumber("2026-12-03"), dayNumber("2026-12-03"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ week: "2026-W49", from: "2026-11-30", to: "2026-12-06", start: "2026-11-29T18:30:00.000Z", hours: 168, votes: 2, devices: 2, score: 0.5 });
  });
});

describe("heatmapCells", () => {
  it("168 cells; closed ones flagged; a vote lands on its local weekday and hour", () => {
    const s = zone("America/New_York", { openingHours: { thu: [["09:00", "17:00"]] } });
    const cells = heatmapCells(quarters([vote("2026-12-03T15:30:00Z", 1)]), s, dayNumber("2026-11-27"), dayNumber("2026-12-03"));
    expect(cells).toHaveLength(168);
    const hit = cells.filter((c) => c.votes > 0);
    expect(hit).toEqual([{ weekday: 4, hour: 10, votes: 1, score: 1, closed: false }]);
    expect(cells.filter((c) => !c.closed).map((c) => c.hour)).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
  });
});

describe("dayTallies and the ranking's periods", () => {
  const s = zone("UTC");
  const today = dayNumber("2026-12-03");
  const facts = [vote("2026-12-03T01:00:00Z", 1), vote("2026-12-02T01:00:00Z", 0), vote("2026-11-26T01:00:00Z", 0.5), vote("2026-10-10T01:00:00Z", 1)];
  const q = quarters(facts).map((b) => ({ start: b.start, votes: b.tally.votes, voteSum: b.tally.voteSum }));
  const tallies = dayTallies(q, s, today - 59, today);
  // Newest first, as a location publishes them.
  const calendar = { date: "2026-12-03", timeZone: "UTC", days: [...tallies].reverse().map((t): [number, number] => [t.votes, t.voteSum]) };

  it("today, 7 and 30 days and the periods before them, on the day published", () => {
    const now = Date.parse("2026-12-03T18:00:00Z");
    expect(periodTallies(calendar, "today", now)).toEqual({ today: "2026-12-03", current: { votes: 1, voteSum: 1 }, previous: { votes: 1, voteSum: 0 } });
    expect(periodTallies(calendar, "7d", now)).toMatchObject({ current: { votes: 2, voteSum: 1 }, previous: { votes: 1, voteSum: 0.5 } });
    expect(periodTallies(calendar, "30d", now)).toMatchObject({ current: { votes: 3, voteSum: 1.5 }, previous: { votes: 1, voteSum: 1 } });
  });

  it("days later, the published days shift back: exact, since a silent location had no votes since", () => {
    const now = Date.parse("2026-12-04T00:30:00Z");
    expect(periodTallies(calendar, "today", now)).toEqual({ today: "2026-12-04", current: { votes: 0, voteSum: 0 }, previous: { votes: 1, voteSum: 1 } });
    expect(periodTallies(calendar, "7d", Date.parse("2026-12-09T12:00:00Z")).current).toEqual({ votes: 1, voteSum: 1 });
  });

  it("ranks by score, then votes; no votes last; low counts flagged", () => {
    const now = Date.parse("2026-12-03T18:00:00Z");
    const summary = (location: string) => ({ location, head: 1, lastEventAt: null, window: { from: "2026-12-03T17:00:00.000Z", to: "2026-12-03T18:00:00.000Z", votes: 0, score: null, devices: 0, temperature: null, humidity: null }, alerts: 0 });
    const days = (votes: number, voteSum: number) => ({ date: "2026-12-03", timeZone: "UTC", days: [[votes, voteSum] as [number, number]] });
    const ranked = rankLocations(
      [
        { summary: summary("quiet"), calendar: null },
        { summary: summary("half"), calendar: days(30, 15) },
        { summary: { ...summary("best"), displayName: "Best" }, calendar: days(2, 2) },
        { summary: summary("half-few"), calendar: days(4, 2) },
      ],
      "today",
      now,
    );
    expect(ranked.map((r) => [r.rank, r.location, r.displayName, r.votes, r.score, r.lowCount])).toEqual([
      [1, "best", "Best", 2, 1, true],
      [2, "half", null, 30, 0.5, false],
      [3, "half-few", null, 4, 0.5, true],
      [4, "quiet", null, 0, null, true],
    ]);
  });
});

/** Local date, weekday and hour from Intl alone: an oracle independent of the helper's offset arithmetic. */
function oracle(timeZone: string, ms: number): { date: string; weekday: number; hour: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", weekday: "short" })
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday!) + 1,
    hour: Number(parts.hour),
  };
}

describe("property: every event counts once, in its local day and weekday hour", () => {
  const zones = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"];
  // Twelve days around each 2026 change: London/Lord_Howe spring and autumn, New York's.
  const starts = ["2026-03-24T00:00:00Z", "2026-10-20T00:00:00Z", "2026-03-04T00:00:00Z", "2026-04-01T00:00:00Z", "2026-09-29T00:00:00Z"].map(at);
  const arb = fc.record({
    timeZone: fc.constantFrom(...zones),
    start: fc.constantFrom(...starts),
    events: fc.array(
      fc.record({ offset: fc.integer({ min: 0, max: 12 * 86_400_000 - 1 }), vote: fc.constantFrom(0 as const, 0.5 as const, 1 as const), deviceId: fc.constantFrom("a", "b", "c") }),
      { maxLength: 80 },
    ),
  });

  it("daily totals equal the events of those local days; heatmap totals the events in range", () => {
    fc.assert(
      fc.property(arb, ({ timeZone, start, events }) => {
        const s = zone(timeZone);
        const facts = events.map((e) => ({ deviceId: e.deviceId, occurredAt: start + e.offset, vote: e.vote }));
        const buckets = quarters(facts);
        const fromDay = dayNumber(oracle(timeZone, start).date) + 1;
        const toDay = fromDay + 9;
        const days = dailyRows(buckets, s, fromDay, toDay);
        for (const row of days) {
          const mine = facts.filter((f) => oracle(timeZone, f.occurredAt).date === row.date);
          expect(row.votes).toBe(mine.length);
          expect(row.happy + row.neutral + row.sad).toBe(row.votes);
          expect(row.sad).toBe(mine.filter((f) => f.vote === 0).length);
          expect(row.devices).toBe(new Set(mine.map((f) => f.deviceId)).size);
        }
        const inRange = facts.filter((f) => {
          const d = dayNumber(oracle(timeZone, f.occurredAt).date);
          return d >= fromDay && d <= toDay;
        });
        expect(days.reduce((n, r) => n + r.votes, 0)).toBe(inRange.length);
        const cells = heatmapCells(buckets, s, fromDay, toDay);
        expect(cells.reduce((n, c) => n + c.votes, 0)).toBe(inRange.length);
        for (const f of inRange) {
          const o = oracle(timeZone, f.occurredAt);
          const cell = cells[(o.weekday - 1) * 24 + o.hour]!;
          expect(cell.votes).toBe(inRange.filter((g) => {
            const p = oracle(timeZone, g.occurredAt);
            return p.weekday === o.weekday && p.hour === o.hour;
          }).length);
        }
        const weeks = weeklyRows(buckets, s, fromDay, toDay);
        const weekDays = weeks.flatMap((w) => [dayNumber(w.from), dayNumber(w.to)]);
        const inWeeks = facts.filter((f) => {
          const d = dayNumber(oracle(timeZone, f.occurredAt).date);
          return d >= weekDays[0]! && d <= weekDays.at(-1)!;
        });
        expect(weeks.reduce((n, w) => n + w.votes, 0)).toBe(inWeeks.length);
      }),
      { numRuns: 150 },
    );
  });
});
