import { expect } from "vitest";

/**
 * The contract's figures computed the obvious way, from a plain list of
 * accepted events, independently of the projections (no buckets, no sums
 * carried across batches): what the window and the hourly history must say.
 */

export interface OracleEvent {
  deviceId: string;
  /** Epoch ms. */
  occurredAt: number;
  vote?: number;
  temperature?: number;
  humidity?: number;
}

export interface OracleAggregate {
  votes: number;
  score: number | null;
  devices: number;
  temperature: number | null;
  humidity: number | null;
}

const mean = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

export function aggregate(events: readonly OracleEvent[]): OracleAggregate {
  const votes = events.flatMap((e) => (e.vote === undefined ? [] : [e.vote]));
  return {
    votes: votes.length,
    score: mean(votes),
    devices: new Set(events.map((e) => e.deviceId)).size,
    temperature: mean(events.flatMap((e) => (e.temperature === undefined ? [] : [e.temperature]))),
    humidity: mean(events.flatMap((e) => (e.humidity === undefined ? [] : [e.humidity]))),
  };
}

/** The window the server reported (its `from`) applied to the accepted events. */
export const windowOf = (events: readonly OracleEvent[], from: number): OracleAggregate =>
  aggregate(events.filter((e) => e.occurredAt >= from));

const HOUR = 3_600_000;

/** One aggregate per calendar hour in [from, to). */
export function hourlyOf(events: readonly OracleEvent[], from: number, to: number): (OracleAggregate & { hour: string })[] {
  const hours: (OracleAggregate & { hour: string })[] = [];
  for (let start = from; start < to; start += HOUR) {
    hours.push({ hour: new Date(start).toISOString(), ...aggregate(events.filter((e) => e.occurredAt >= start && e.occurredAt < start + HOUR)) });
  }
  return hours;
}

/** Figures computed in a different order than the server's sums may differ in the last bits. */
export function expectCloseAggregate(actual: OracleAggregate, expected: OracleAggregate): void {
  expect(actual.votes).toBe(expected.votes);
  expect(actual.devices).toBe(expected.devices);
  for (const key of ["score", "temperature", "humidity"] as const) {
    const a = actual[key];
    const e = expected[key];
    if (e === null || a === null) expect(a).toBe(e);
    else expect(a).toBeCloseTo(e, 9);
  }
}
