import type { DailyRow, HeatmapCell, LocalHour, PeriodTally, WeeklyRow } from "../../protocol/calendar";
import { WEEKDAYS, clockMinutes, type LocationSettings } from "../../protocol/settings";
import { isoString } from "../../protocol/time";
import { addTally, addVoteCounts, emptyTally, emptyVoteCounts, summarize, type Tally, type VoteCounts } from "../tally";
import { distinctDevices } from "../device-count";
import type { QuarterBucket } from "./quarters";
import { DAY_MS, HOUR_MS, QUARTER_MS, dateOfDay, dayStartUtc, isoWeekName, localIso, mondayOf, offsetAt, weekdayOf } from "./zone";

/**
 * The calendar's reads, pure: local hours, days, ISO weeks, the heatmap and
 * the ranking's days, each summed from the UTC quarter buckets of the
 * span. Each function walks every quarter of its span (empty ones too, for
 * lengths and opening hours) and takes the buckets it is given as the data:
 * the caller passes at least those of the span (`*Span` says which).
 */

/** A quarter hour seen on the location's wall clock. */
interface LocalQuarter {
  /** UTC start. */
  start: number;
  /** Local day number, ISO weekday, local hour and minute of day. */
  day: number;
  weekday: number;
  hour: number;
  minuteOfDay: number;
  offset: number;
  open: boolean;
}

function* quartersOf(settings: LocationSettings, from: number, to: number): Generator<LocalQuarter> {
  const zone = settings.timeZone;
  for (let start = from; start < to; start += QUARTER_MS) {
    const offset = offsetAt(zone, start);
    const local = start + offset * 60_000;
    const day = Math.floor(local / DAY_MS);
    const minuteOfDay = Math.round((local - day * DAY_MS) / 60_000);
    const weekday = weekdayOf(day);
    yield { start, day, weekday, hour: Math.floor(minuteOfDay / 60), minuteOfDay, offset, open: isOpen(settings, weekday, minuteOfDay) };
  }
}

/** Whether the location is open at `minuteOfDay` on ISO `weekday`: always, without opening hours; else inside a span of that day. */
export function isOpen(settings: LocationSettings, weekday: number, minuteOfDay: number): boolean {
  const hours = settings.openingHours;
  if (!hours) return true;
  const spans = hours[WEEKDAYS[weekday - 1]!] ?? [];
  return spans.some(([start, end]) => clockMinutes(start) <= minuteOfDay && minuteOfDay < clockMinutes(end));
}

/** Running figures of a row. */
class Figures {
  readonly tally: Tally = emptyTally();
  readonly votes: VoteCounts = emptyVoteCounts();
  /** The buckets added: their devices are counted together at the end (a device heard in two quarters is one). */
  private readonly buckets: QuarterBucket[] = [];
  quarters = 0;
  open = 0;

  add(bucket: QuarterBucket | undefined): void {
    if (!bucket) return;
    addTally(this.tally, bucket.tally);
    addVoteCounts(this.votes, bucket.votes);
    this.buckets.push(bucket);
  }

  /** Counts quarter `q` into the row's length and, unless `openOnly` excludes it, its figures. */
  take(q: LocalQuarter, bucket: QuarterBucket | undefined, openOnly: boolean): void {
    this.quarters++;
    if (q.open) this.open++;
    if (!openOnly || q.open) this.add(bucket);
  }

  figures() {
    return { ...summarize(this.tally, distinctDevices(this.buckets)), ...this.votes };
  }
}

const index = (buckets: Iterable<QuarterBucket>): Map<number, QuarterBucket> => {
  const byStart = new Map<number, QuarterBucket>();
  for (const b of buckets) byStart.set(b.start, b);
  return byStart;
};

/**
 * `[from, to)` widened to whole local hours: back to the first quarter of the
 * local hour holding `from`, on to the end of the one holding `to − 1`. An
 * hour is a run of quarters with the same local hour and offset.
 */
export function hourlySpan(settings: LocationSettings, from: number, to: number): { from: number; to: number } {
  const zone = settings.timeZone;
  const key = (q: number) => {
    const offset = offsetAt(zone, q);
    return `${Math.floor((q + offset * 60_000) / HOUR_MS)}|${offset}`;
  };
  let start = Math.floor(from / QUARTER_MS) * QUARTER_MS;
  const first = key(start);
  while (key(start - QUARTER_MS) === first) start -= QUARTER_MS;
  let end = Math.ceil(to / QUARTER_MS) * QUARTER_MS;
  const last = key(end - QUARTER_MS);
  while (key(end) === last) end += QUARTER_MS;
  return { from: start, to: end };
}

/**
 * One row per local hour in `[from, to)` (bounds on local hours: see
 * `hourlySpan`), oldest first. At a DST change the repeated hour is two rows
 * (one per offset) and the skipped one none. `openOnly` drops hours that are
 * wholly closed and counts only open quarters of the others.
 */
export function localHours(buckets: Iterable<QuarterBucket>, settings: LocationSettings, from: number, to: number, openOnly = false): LocalHour[] {
  const byStart = index(buckets);
  const rows: LocalHour[] = [];
  // Assigned in the loop and read by `flush`: the `as` keeps TypeScript from narrowing it to null for good.
  let current = null as { key: string; start: number; figures: Figures } | null;
  const flush = () => {
    if (!current) return;
    const f = current.figures;
    if (!(openOnly && f.open === 0)) {
      rows.push({
        hour: isoString(current.start),
        local: localIso(settings.timeZone, current.start),
        minutes: f.quarters * 15,
        closed: f.open === 0,
        ...f.figures(),
      });
    }
  };
  for (const q of quartersOf(settings, from, to)) {
    const key = `${q.day}|${q.hour}|${q.offset}`;
    if (current?.key !== key) {
      flush();
      current = { key, start: q.start, figures: new Figures() };
    }
    current.figures.take(q, byStart.get(q.start), openOnly);
  }
  flush();
  return rows;
}

/** UTC instants of local days `fromDay` through `toDay` (day numbers, inclusive). */
export const dailySpan = (settings: LocationSettings, fromDay: number, toDay: number) => ({
  from: dayStartUtc(settings.timeZone, fromDay),
  to: dayStartUtc(settings.timeZone, toDay + 1),
});

function spanRow(start: number, f: Figures) {
  return {
    start: isoString(start),
    end: isoString(start + f.quarters * QUARTER_MS),
    hours: f.quarters / 4,
    openHours: f.open / 4,
    closed: f.open === 0,
    ...f.figures(),
  };
}

/** One row per local day `fromDay`…`toDay` (day numbers), each exactly the events of its local day. */
export function dailyRows(buckets: Iterable<QuarterBucket>, settings: LocationSettings, fromDay: number, toDay: number, openOnly = false): DailyRow[] {
  const byStart = index(buckets);
  const { from, to } = dailySpan(settings, fromDay, toDay);
  const days = Array.from({ length: toDay - fromDay + 1 }, () => ({ start: -1, figures: new Figures() }));
  for (const q of quartersOf(settings, from, to)) {
    const row = days[q.day - fromDay];
    if (!row) continue;
    if (row.start < 0) row.start = q.start;
    row.figures.take(q, byStart.get(q.start), openOnly);
  }
  return days.map((d, i) => ({ date: dateOfDay(fromDay + i), ...spanRow(d.start < 0 ? from : d.start, d.figures) }));
}

/** Day numbers of the ISO weeks (Monday to Sunday) holding `fromDay` and `toDay`. */
export const weeklyDays = (fromDay: number, toDay: number) => ({ from: mondayOf(fromDay), to: mondayOf(toDay) + 6 });

/** One row per ISO week (local Monday 00:00 to Sunday 24:00) from the week of `fromDay` to that of `toDay`. */
export function weeklyRows(buckets: Iterable<QuarterBucket>, settings: LocationSettings, fromDay: number, toDay: number, openOnly = false): WeeklyRow[] {
  const byStart = index(buckets);
  const days = weeklyDays(fromDay, toDay);
  const { from, to } = dailySpan(settings, days.from, days.to);
  const weeks = Array.from({ length: (days.to - days.from + 1) / 7 }, () => ({ start: -1, figures: new Figures() }));
  for (const q of quartersOf(settings, from, to)) {
    const row = weeks[Math.floor((q.day - days.from) / 7)];
    if (!row) continue;
    if (row.start < 0) row.start = q.start;
    row.figures.take(q, byStart.get(q.start), openOnly);
  }
  return weeks.map((w, i) => {
    const monday = days.from + i * 7;
    return { week: isoWeekName(monday), from: dateOfDay(monday), to: dateOfDay(monday + 6), ...spanRow(w.start < 0 ? from : w.start, w.figures) };
  });
}

/** The local day number of `now` in the location's zone. */
export const localDay = (settings: LocationSettings, now: number): number => Math.floor((now + offsetAt(settings.timeZone, now) * 60_000) / DAY_MS);

/**
 * Weekday × local hour over local days `fromDay`…`toDay`: 168 cells, Monday
 * 00 first. `closed` marks weekday hours with no open quarter.
 */
export function heatmapCells(buckets: Iterable<QuarterBucket>, settings: LocationSettings, fromDay: number, toDay: number, openOnly = false): HeatmapCell[] {
  const byStart = index(buckets);
  const { from, to } = dailySpan(settings, fromDay, toDay);
  const cells = Array.from({ length: 7 * 24 }, () => ({ tally: emptyTally() }));
  for (const q of quartersOf(settings, from, to)) {
    const bucket = byStart.get(q.start);
    if (bucket && (!openOnly || q.open)) addTally(cells[(q.weekday - 1) * 24 + q.hour]!.tally, bucket.tally);
  }
  return cells.map((c, i) => {
    const weekday = Math.floor(i / 24) + 1;
    const hour = i % 24;
    const closed = ![0, 15, 30, 45].some((m) => isOpen(settings, weekday, hour * 60 + m));
    return { weekday, hour, votes: c.tally.votes, score: c.tally.votes > 0 ? c.tally.voteSum / c.tally.votes : null, closed };
  });
}

/** A quarter's votes alone: all the ranking reads (SQL reads two columns, not the device lists). */
export interface QuarterVotes extends PeriodTally {
  start: number;
}

/** Votes per local day `fromDay`…`toDay` (index 0 is `fromDay`). `quarters` must hold those of that span. */
export function dayTallies(quarters: Iterable<QuarterVotes>, settings: LocationSettings, fromDay: number, toDay: number): PeriodTally[] {
  const byStart = new Map<number, QuarterVotes>();
  for (const q of quarters) byStart.set(q.start, q);
  const { from, to } = dailySpan(settings, fromDay, toDay);
  const out = Array.from({ length: toDay - fromDay + 1 }, () => ({ votes: 0, voteSum: 0 }));
  for (const q of quartersOf(settings, from, to)) {
    const bucket = byStart.get(q.start);
    const row = out[q.day - fromDay];
    if (bucket && row) {
      row.votes += bucket.votes;
      row.voteSum += bucket.voteSum;
    }
  }
  return out;
}
