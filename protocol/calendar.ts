import { z } from "zod";

/**
 * The location's calendar, in its own time zone (settings): local hours, days,
 * ISO weeks, the weekday × hour heatmap, and the per-period figures the
 * ranking compares. Figures are sums over whole UTC quarter hours, so every
 * event counts in exactly one local hour, day and week.
 */

const isoDate = z.iso.date();

/** What every calendar row reports. */
export const calendarFigures = {
  votes: z.number().int().nonnegative(),
  /** sum/count of votes, unrounded; null with no votes. */
  score: z.number().min(0).max(1).nullable(),
  /** Votes by button: happy (1), neutral (0.5), sad (0). */
  happy: z.number().int().nonnegative(),
  neutral: z.number().int().nonnegative(),
  sad: z.number().int().nonnegative(),
  /** Distinct devices with any reading counted in the row. */
  devices: z.number().int().nonnegative(),
  /** Means of the readings counted; null with none. */
  temperature: z.number().nullable(),
  humidity: z.number().nullable(),
};

/** One local hour: `hour` is its first UTC instant, `local` the same instant on the location's wall clock. */
export const localHour = z.object({
  hour: z.iso.datetime(),
  local: z.iso.datetime({ offset: true }),
  /** 60, or 30/45 for an hour a DST change cuts (Australia/Lord_Howe's 30-minute shift). */
  minutes: z.number().int().positive(),
  /** True when the whole hour is outside the opening hours. */
  closed: z.boolean(),
  ...calendarFigures,
});
export type LocalHour = z.infer<typeof localHour>;

/** Figures over a span of local days (a day, an ISO week), with how much of it was open. */
const spanFigures = {
  /** First and last UTC instant of the span (end exclusive). */
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  /** Its length in hours: 24 for most days, 23 or 25 on a DST change. */
  hours: z.number().nonnegative(),
  /** How many of those hours are within the opening hours. */
  openHours: z.number().nonnegative(),
  /** True when no hour of it is open. */
  closed: z.boolean(),
  ...calendarFigures,
};

export const dailyRow = z.object({ date: isoDate, ...spanFigures });
export type DailyRow = z.infer<typeof dailyRow>;

export const weeklyRow = z.object({
  /** ISO week, `2026-W49`. */
  week: z.string().regex(/^\d{4}-W\d{2}$/),
  /** Its Monday and Sunday (local dates). */
  from: isoDate,
  to: isoDate,
  ...spanFigures,
});
export type WeeklyRow = z.infer<typeof weeklyRow>;

export const heatmapCell = z.object({
  /** ISO weekday: 1 Monday … 7 Sunday. */
  weekday: z.number().int().min(1).max(7),
  /** Local hour, 0–23. */
  hour: z.number().int().min(0).max(23),
  votes: z.number().int().nonnegative(),
  score: z.number().min(0).max(1).nullable(),
  /** True when this weekday hour is outside the opening hours. */
  closed: z.boolean(),
});
export type HeatmapCell = z.infer<typeof heatmapCell>;

const calendarMeta = { location: z.string(), timeZone: z.string(), openOnly: z.boolean() };

export const hourlyLocalResponse = z.object({ ...calendarMeta, hours: z.array(localHour) });
export type HourlyLocalResponse = z.infer<typeof hourlyLocalResponse>;
export const dailyResponse = z.object({ ...calendarMeta, days: z.array(dailyRow) });
export type DailyResponse = z.infer<typeof dailyResponse>;
export const weeklyResponse = z.object({ ...calendarMeta, weeks: z.array(weeklyRow) });
export type WeeklyResponse = z.infer<typeof weeklyResponse>;
export const heatmapResponse = z.object({
  ...calendarMeta,
  weeks: z.number().int(),
  /** The local days covered, oldest first: the `weeks` × 7 days ending today. */
  from: isoDate,
  to: isoDate,
  cells: z.array(heatmapCell),
});
export type HeatmapResponse = z.infer<typeof heatmapResponse>;

export const CALENDAR_LIMITS = { maxDays: 366, maxWeeks: 53, maxHeatmapWeeks: 52, defaultDays: 14, defaultWeeks: 8, defaultHeatmapWeeks: 4 } as const;

/** Votes and their sum over one period, as the ranking needs them (the score is voteSum / votes). */
export interface PeriodTally {
  votes: number;
  voteSum: number;
}

