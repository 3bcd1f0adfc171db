import { describe, expect, it } from "vitest";
import { emptyTally, addReadings, type Tally } from "../../../domain/tally";
import type { HourBucket, MinuteBucket } from "../../../domain/projections";
import { scoreWindowAt } from "../../../domain/window";
import { HOUR_MS, MINUTE_MS } from "../../../domain/time-buckets";
import type { Readings } from "../../../protocol";

const at = (iso: string) => Date.parse(iso);
const tally = (...rs: Readings[]): Tally => {
  const t = emptyTally();
  rs.forEach((r) => addReadings(t, r));
  return t;
};
const minute = (start: number, perDevice: Record<string, Readings[]>): MinuteBucket => {
  const devices = new Map(Object.entries(perDevice).map(([id, rs]) => [id, tally(...rs)]));
  return { start, tally: tally(...Object.values(perDevice).flat()), devices };
};
const hour = (start: number, devices: string[], ...rs: Readings[]): HourBucket => ({ start, tally: tally(...rs), devices: new Set(devices) });

describe("scoreWindowAt", () => {
  const now = at("2024-03-10T12:00:30Z");
  const from = at("2024-03-10T11:01:00Z");

  it("sums the buckets from windowStart on, skipping older ones, and reports from/to", () => {
    const w = scoreWindowAt(
      [
        minute(from - MINUTE_MS, { old: [{ vote: 0 }] }),
        minute(from, { a: [{ vote: 1, temperature: 20 }] }),
        minute(at("2024-03-10T11:59:00Z"), { a: [{ vote: 0.5 }], b: [{ humidity: 40 }] }),
      ],
      now,
    );
    expect(w).toEqual({
      from: "2024-03-10T11:01:00.000Z",
      to: "2024-03-10T12:00:30.000Z",
      votes: 2,
      score: 0.75,
      devices: 2,
      temperature: 20,
      humidity: 40,
    });
  });

  it("includes buckets dated ahead of now (allowed clock skew)", () => {
    const w = scoreWindowAt([minute(now + 4 * MINUTE_MS, { future: [{ vote: 1 }] })], now);
    expect(w).toMatchObject({ votes: 1, score: 1, devices: 1 });
  });

  it("counts a device once across buckets, including devices without votes", () => {
    const w = scoreWindowAt(
      [minute(from, { a: [{ vote: 1 }], b: [{ temperature: 1 }] }), minute(from + MINUTE_MS, { a: [{ vote: 0 }], c: [{ humidity: 2 }] })],
      now,
    );
    expect(w).toMatchObject({ votes: 2, score: 0.5, devices: 3 });
  });

  it("an empty window has nulls and no devices", () => {
    expect(scoreWindowAt([], now)).toEqual({
      from: "2024-03-10T11:01:00.000Z",
      to: "2024-03-10T12:00:30.000Z",
      votes: 0,
      score: null,
      devices: 0,
      temperature: null,
      humidity: null,
    });
  });
});
