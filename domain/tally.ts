import type { Readings } from "../protocol";

/**
 * Running sums of readings. Sums, not means, so tallies add up across minutes
 * and hours exactly as the events did; the score is divided only when read.
 */
export interface Tally {
  votes: number;
  voteSum: number;
  temperatureCount: number;
  temperatureSum: number;
  humidityCount: number;
  humiditySum: number;
  /** Sad votes (0) among `votes`: what a `sad-share` rule reads from the minute buckets. */
  sad: number;
}

export const emptyTally = (): Tally => ({
  votes: 0,
  voteSum: 0,
  temperatureCount: 0,
  temperatureSum: 0,
  humidityCount: 0,
  humiditySum: 0,
  sad: 0,
});

/** Adds one event's readings to `into` (a working copy the caller owns). */
export function addReadings(into: Tally, r: Readings): void {
  if (r.vote !== undefined) {
    into.votes += 1;
    into.voteSum += r.vote;
    if (r.vote === 0) into.sad += 1;
  }
  if (r.temperature !== undefined) {
    into.temperatureCount += 1;
    into.temperatureSum += r.temperature;
  }
  if (r.humidity !== undefined) {
    into.humidityCount += 1;
    into.humiditySum += r.humidity;
  }
}

/** Adds tally `b` into `into`. */
export function addTally(into: Tally, b: Tally): void {
  into.votes += b.votes;
  into.voteSum += b.voteSum;
  into.temperatureCount += b.temperatureCount;
  into.temperatureSum += b.temperatureSum;
  into.humidityCount += b.humidityCount;
  into.humiditySum += b.humiditySum;
  into.sad += b.sad;
}

/**
 * Compact, order-stable encoding for JSON columns (and the order of a bucket
 * row's tally columns). `sad` came last and later: a cell packed before it
 * has six numbers and reads as 0 sad votes (the migration that added it also
 * rebuilds the projections from the log, so none is left).
 */
export type PackedTally = [number, number, number, number, number, number, number];
/** A packed tally as stored: six numbers in cells from before `sad`. */
export type StoredTally = PackedTally | [number, number, number, number, number, number];
export const packTally = (t: Tally): PackedTally => [
  t.votes,
  t.voteSum,
  t.temperatureCount,
  t.temperatureSum,
  t.humidityCount,
  t.humiditySum,
  t.sad,
];
export const unpackTally = ([votes, voteSum, temperatureCount, temperatureSum, humidityCount, humiditySum, sad]: StoredTally): Tally => ({
  votes,
  voteSum,
  temperatureCount,
  temperatureSum,
  humidityCount,
  humiditySum,
  sad: sad ?? 0,
});

export interface Aggregate {
  votes: number;
  /** sum/count of votes, unrounded (the original rounded the sum first: a bug). */
  score: number | null;
  devices: number;
  temperature: number | null;
  humidity: number | null;
}

/** Turns sums into the figures people read. */
export function summarize(t: Tally, devices: number): Aggregate {
  return {
    votes: t.votes,
    score: t.votes > 0 ? t.voteSum / t.votes : null,
    devices,
    temperature: t.temperatureCount > 0 ? t.temperatureSum / t.temperatureCount : null,
    humidity: t.humidityCount > 0 ? t.humiditySum / t.humidityCount : null,
  };
}

/**
 * Votes by value: the sad (0), neutral (0.5) and happy (1) buttons counted
 * apart. The score needs only the sum; the calendar's rows show the three
 * counts, so its buckets keep them beside the tally.
 */
export interface VoteCounts {
  happy: number;
  neutral: number;
  sad: number;
}

export const emptyVoteCounts = (): VoteCounts => ({ happy: 0, neutral: 0, sad: 0 });

/** Counts one event's vote, if it has one, into `into`. */
export function countVote(into: VoteCounts, r: Readings): void {
  if (r.vote === 1) into.happy += 1;
  else if (r.vote === 0.5) into.neutral += 1;
  else if (r.vote === 0) into.sad += 1;
}

export function addVoteCounts(into: VoteCounts, b: VoteCounts): void {
  into.happy += b.happy;
  into.neutral += b.neutral;
  into.sad += b.sad;
}
