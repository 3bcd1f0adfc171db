import type { ScoreWindow } from "../protocol";
import { isoString } from "../protocol/time";
import { distinctDevices } from "./device-count";
import type { MinuteBucket } from "./projections";
import { addTally, emptyTally, summarize } from "./tally";
import { windowStart } from "./time-buckets";

/**
 * The live hourly score at `now` from the minute buckets that start at or
 * after `windowStart(now)` (the caller may pass more; older ones are skipped).
 * Buckets dated slightly in the future (allowed clock skew) count too.
 */
export function scoreWindowAt(minutes: Iterable<MinuteBucket>, now: number): ScoreWindow {
  const from = windowStart(now);
  const tally = emptyTally();
  const inWindow: MinuteBucket[] = [];
  for (const bucket of minutes) {
    if (bucket.start < from) continue;
    addTally(tally, bucket.tally);
    inWindow.push(bucket);
  }
  return { from: isoString(from), to: isoString(now), ...summarize(tally, distinctDevices(inWindow)) };
}

