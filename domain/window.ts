import type { HourSummary, ScoreWindow } from "../protocol";
import { isoString } from "../protocol/time";
import { deviceCount, distinctDevices } from "./device-count";
import type { HourBucket, MinuteBucket } from "./projections";
import { addTally, emptyTally, summarize } from "./tally";
import { HOUR_MS, windowStart } from "./time-buckets";

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

/** One row per calendar hour in [from, to), empty hours included, oldest first. */
export function hourlySeries(hours: Iterable<HourBucket>, from: number, to: number): HourSummary[] {
  const byStart = new Map<number, HourBucket>();
  for (const h of hours) byStart.set(h.start, h);
  const series: HourSummary[] = [];
  for (let start = from; start < to; start += HOUR_MS) {
    const bucket = byStart.get(start);
    series.push({
      hour: isoString(start),
      ...summarize(bucket?.tally ?? emptyTally(), bucket ? deviceCount(bucket) : 0),
    });
  }
  return series;
}
