import { z } from "zod";
import { CALENDAR_LIMITS, HOURLY_LIMITS } from "../protocol";
import { instantParam } from "./params";
import { dayNumber, mondayOf } from "../domain/calendar/zone";
import { HOUR_MS, hourStart } from "../domain/time-buckets";

/** Query parameters of the calendar routes (the location's own time zone is applied by its object). */

/** `true` or `false`; absent is false. */
const flag = z
  .enum(["true", "false"], { error: "must be true or false" })
  .transform((s) => s === "true")
  .optional()
  .transform((v) => v ?? false);


/** A local calendar date `YYYY-MM-DD`, as its day number. */
const dateParam = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
  .pipe(z.iso.date({ error: "must be a real calendar date YYYY-MM-DD" }))
  .refine((s) => s >= "2000-01-01", "must be a date on or after 2000-01-01")
  .transform(dayNumber);

/**
 * `from`/`to` of the hourly history: instants, widened by the location to
 * whole local hours; `to` absent: now; `from` absent: 24 hours before `to`.
 * The limit is checked on the span widened to whole UTC hours (a local hour
 * of a :30 or :45 zone is never wider).
 */
export const localHourlyQuery = (now: number) =>
  z
    .object({ from: instantParam.optional(), to: instantParam.optional(), openOnly: flag })
    .refine(({ from, to }) => from === undefined || from < (to ?? Math.ceil(now / HOUR_MS) * HOUR_MS), { error: "from must be before to" })
    .refine(
      ({ from, to }) => {
        const end = Math.ceil((to ?? now) / HOUR_MS) * HOUR_MS;
        const start = from === undefined ? end - HOURLY_LIMITS.defaultHours * HOUR_MS : hourStart(from);
        return (end - start) / HOUR_MS <= HOURLY_LIMITS.maxHours;
      },
      { error: `at most ${HOURLY_LIMITS.maxHours} hours per request` },
    )
    .transform(({ from, to, openOnly }) => ({ from: from ?? null, to: to ?? null, openOnly }));

const dayRange = { from: dateParam.optional(), to: dateParam.optional(), openOnly: flag };
const ordered = ({ from, to }: { from?: number; to?: number }) => from === undefined || to === undefined || from <= to;

/** Local days `from`…`to` (inclusive), at most CALENDAR_LIMITS.maxDays; one end alone: that many default days from it. */
export const dailyQuery = z
  .object(dayRange)
  .refine(ordered, { error: "from must not be after to" })
  .refine(({ from, to }) => from === undefined || to === undefined || to - from + 1 <= CALENDAR_LIMITS.maxDays, {
    error: `at most ${CALENDAR_LIMITS.maxDays} days per request`,
  })
  .transform(({ from, to, openOnly }) => ({ range: { from: from ?? null, to: to ?? null }, openOnly }));

/** ISO weeks holding local days `from`…`to`, at most CALENDAR_LIMITS.maxWeeks. */
export const weeklyQuery = z
  .object(dayRange)
  .refine(ordered, { error: "from must not be after to" })
  .refine(({ from, to }) => from === undefined || to === undefined || (mondayOf(to) - mondayOf(from)) / 7 + 1 <= CALENDAR_LIMITS.maxWeeks, {
    error: `at most ${CALENDAR_LIMITS.maxWeeks} weeks per request`,
  })
  .transform(({ from, to, openOnly }) => ({ range: { from: from ?? null, to: to ?? null }, openOnly }));

export const heatmapQuery = z.object({
  weeks: z
    .string()
    .regex(/^\d{1,3}$/, "must be a whole number of weeks")
    .transform(Number)
    .pipe(z.number().min(1, "must be at least 1").max(CALENDAR_LIMITS.maxHeatmapWeeks, `must be at most ${CALENDAR_LIMITS.maxHeatmapWeeks}`))
    .default(CALENDAR_LIMITS.defaultHeatmapWeeks),
  openOnly: flag,
});

export const EXPORT_FORMATS = ["csv", "ndjson"] as const;

/** The export: local days like `daily`, a format, and the temperature unit of the CSV (°C unless `F`). */
export const exportQuery = z
  .object({
    from: dateParam.optional(),
    to: dateParam.optional(),
    format: z.enum(EXPORT_FORMATS, { error: `must be ${EXPORT_FORMATS.join(" or ")}` }).default("csv"),
    unit: z.enum(["C", "F"], { error: "must be C or F" }).default("C"),
  })
  .refine(ordered, { error: "from must not be after to" })
  .refine(({ from, to }) => from === undefined || to === undefined || to - from + 1 <= CALENDAR_LIMITS.maxDays, {
    error: `at most ${CALENDAR_LIMITS.maxDays} days per request`,
  })
  .transform(({ from, to, format, unit }) => ({ range: { from: from ?? null, to: to ?? null }, format, unit }));

export const rankingQuery = z.object({
  period: z.enum(["today", "7d", "30d"], { error: "must be today, 7d or 30d" }).default("today"),
});
