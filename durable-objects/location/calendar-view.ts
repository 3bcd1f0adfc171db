import { CALENDAR_LIMITS, type DailyRow, type HeatmapCell, type LocalHour, type WeeklyRow } from "../../protocol/calendar";
import { HOURLY_LIMITS } from "../../protocol/read";
import type { LocationSettings } from "../../protocol/settings";
import type { QuarterBucket } from "../../domain/calendar/quarters";
import { dailySpan, heatmapCells, hourlySpan, localDay, localHours, dailyRows, weeklyDays, weeklyRows } from "../../domain/calendar/series";
import { HOUR_MS, dateOfDay } from "../../domain/calendar/zone";
import type { ReadingEntry } from "../../domain/location/entries";

/** A day range as asked: day numbers, or null for the default span ending today. */
export interface DayRange {
  from: number | null;
  to: number | null;
}


/** A page of the export: the readings among log entries (after, after + limit] dated inside the range; `next` is the `after` of the next page (null at the head). */
export interface ExportPage {
  readings: ReadingEntry[];
  next: number | null;
}

/**
 * The calendar reads of one location: its settings and a way to get the
 * quarter buckets of a span (stored overlaid by memory; none for a location
 * nobody wrote to). The figures are the pure functions of domain/calendar.
 */
export class CalendarView {
  constructor(
    readonly settings: LocationSettings,
    readonly seq: number | null,
    private readonly quarters: (from: number, to: number) => QuarterBucket[],
  ) {}

  /** Local hours covering [from, to); `to` absent: through the current local hour; `from` absent: 24 hours before `to`. */
  hourly(from: number | null, to: number | null, openOnly: boolean, now: number): LocalHour[] {
    const end = to ?? hourlySpan(this.settings, now, now + 1).to;
    const span = hourlySpan(this.settings, from ?? end - HOURLY_LIMITS.defaultHours * HOUR_MS, end);
    return localHours(this.quarters(span.from, span.to), this.settings, span.from, span.to, openOnly);
  }

  /** Local days of `range` (one end given: the default length from it; none: ending today). */
  days(range: DayRange, now: number): { from: number; to: number } {
    const n = CALENDAR_LIMITS.defaultDays - 1;
    const to = range.to ?? (range.from !== null ? range.from + n : localDay(this.settings, now));
    return { from: range.from ?? to - n, to };
  }

  daily(range: DayRange, openOnly: boolean, now: number): DailyRow[] {
    const { from, to } = this.days(range, now);
    const span = dailySpan(this.settings, from, to);
    return dailyRows(this.quarters(span.from, span.to), this.settings, from, to, openOnly);
  }

  weekly(range: DayRange, openOnly: boolean, now: number): WeeklyRow[] {
    const n = CALENDAR_LIMITS.defaultWeeks * 7 - 1;
    const to = range.to ?? (range.from !== null ? range.from + n : localDay(this.settings, now));
    const from = range.from ?? to - n;
    const days = weeklyDays(from, to);
    const span = dailySpan(this.settings, days.from, days.to);
    return weeklyRows(this.quarters(span.from, span.to), this.settings, from, to, openOnly);
  }

  /** The `weeks` × 7 local days ending today, as weekday × hour cells. */
  heatmap(weeks: number, openOnly: boolean, now: number): { from: string; to: string; cells: HeatmapCell[] } {
    const to = localDay(this.settings, now);
    const from = to - weeks * 7 + 1;
    const span = dailySpan(this.settings, from, to);
    return { from: dateOfDay(from), to: dateOfDay(to), cells: heatmapCells(this.quarters(span.from, span.to), this.settings, from, to, openOnly) };
  }

  /** UTC span of local days `range` (for the export). */
  span(range: DayRange, now: number): { from: number; to: number } {
    const { from, to } = this.days(range, now);
    return dailySpan(this.settings, from, to);
  }
}
