import { z } from "zod";

/** Earliest instant an event may carry: anything older is a clock or unit bug. */
export const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);
/** Events dated further ahead than this are rejected (device clocks drift; they don't time travel). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/**
 * An instant on the wire: ISO 8601 with a zone (`Z` or an offset) or epoch
 * milliseconds. Parsed to epoch milliseconds.
 */
export const instant = z.union(
  [
    z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time with a zone" }).transform((s) => Date.parse(s)),
    z.number().int("epoch milliseconds must be an integer").nonnegative(),
  ],
  { error: "must be an ISO 8601 date-time with a zone or epoch milliseconds" },
).refine((ms) => Number.isFinite(ms) && ms >= EARLIEST_EVENT_MS && ms <= 8.64e15, {
  error: "must be a date on or after 2000-01-01",
});

export const isoString = (ms: number): string => new Date(ms).toISOString();
