import type { IngestEventInput } from "../../../protocol";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

let counter = 0;
/** An id no other event of this test file uses. */
export const freshId = (prefix = "evt"): string => `${prefix}-${++counter}`;

/**
 * A valid ingest event (a happy vote from `dev-1`, dated now) with `overrides`.
 * Pass `vote: undefined` to drop the default vote. Happy by default because a
 * device's low score (the default rule: < 0.7 over ≥ 3 votes) appends alert
 * and command entries to the log, which tests of readings alone must not see.
 */
export function reading(location: string, overrides: Partial<Record<keyof IngestEventInput, unknown>> = {}): IngestEventInput {
  const event: Record<string, unknown> = {
    id: freshId(),
    deviceId: "dev-1",
    location,
    occurredAt: new Date().toISOString(),
    vote: 1,
    ...overrides,
  };
  for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
  return event as IngestEventInput;
}

/** ISO 8601 for `ms` from now. */
export const isoFromNow = (ms: number): string => new Date(Date.now() + ms).toISOString();
