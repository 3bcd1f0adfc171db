import { WINDOW_MS } from "../protocol/read";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

export const minuteStart = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/**
 * Start of a window of `span` ms (the live hourly window unless given) at
 * `now`: now − span, rounded *up* to the minute, because windows are summed
 * from minute buckets. Every counted event is then at or after now − span, and
 * the returned `from` says exactly which events count (occurredAt ≥ from),
 * with no partial minute.
 */
export const windowStart = (now: number, span: number = WINDOW_MS): number => Math.ceil((now - span) / MINUTE_MS) * MINUTE_MS;

/**
 * When the minute bucket starting at `start` leaves a window of `span`: the
 * first instant at which `windowStart(t, span) > start`. Time alone changes a
 * window only at these instants.
 */
export const bucketLeavesAt = (start: number, span: number = WINDOW_MS): number => start + span + 1;
