import { WINDOW_MS } from "../protocol/read";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

export const minuteStart = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/**
 * Start of the live window at `now`: now − 60 minutes, rounded *up* to the
 * minute, because the window is summed from minute buckets. Every counted event
 * is then at or after now − 60 minutes, and the returned `from` says exactly
 * which events count (occurredAt ≥ from), with no partial minute.
 */
export const windowStart = (now: number): number => Math.ceil((now - WINDOW_MS) / MINUTE_MS) * MINUTE_MS;
