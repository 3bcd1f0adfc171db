import { describe, expect, it } from "vitest";
import {
  DEVICES_LISTED,
  decodeSketch,
  deviceCount,
  distinctDevices,
  emptySketch,
  encodeSketch,
  hear,
  sketchAdd,
  sketchEstimate,
  sketchMerge,
} from "../../../domain/device-count";
import { emptyProjectionSet, evolve } from "../../../domain/projections";
import { scoreWindowAt } from "../../../domain/window";

const ids = (n: number, prefix = "device") => Array.from({ length: n }, (_, i) => `${prefix}-${i}`.padEnd(128, "x"));

describe("distinct devices in bounded space", () => {
  it("estimates within 5% from 1 to 200,000 devices, ids alike or not", () => {
    for (const n of [1, 10, 999, 1_001, 5_000, 15_000, 200_000]) {
      const sketch = emptySketch();
      for (const id of ids(n)) sketchAdd(sketch, id);
      expect(Math.abs(sketchEstimate(sketch) - n) / n, `${n} devices`).toBeLessThan(0.05);
    }
    const short = emptySketch();
    for (let i = 0; i < 20_000; i++) sketchAdd(short, `d${i}`);
    expect(Math.abs(sketchEstimate(short) - 20_000) / 20_000).toBeLessThan(0.05);
  });

  it("is idempotent and order-free: adding twice or in another order gives the same registers; merge = union", () => {
    const all = ids(3_000);
    const a = emptySketch();
    for (const id of all) sketchAdd(a, id);
    for (const id of all) sketchAdd(a, id);
    const b = emptySketch();
    for (const id of [...all].reverse()) sketchAdd(b, id);
    expect(b).toEqual(a);
    const left = emptySketch();
    const right = emptySketch();
    all.forEach((id, i) => sketchAdd(i % 2 ? left : right, id));
    sketchMerge(left, right);
    expect(left).toEqual(a);
    expect(decodeSketch(encodeSketch(a))).toEqual(a);
    expect(encodeSketch(a)).toHaveLength(4096);
  });

  it("lists the first DEVICES_LISTED devices heard, then only counts: exact below the cap, never below listed + 1 above", () => {
    const bucket = { devices: new Set<string>(), sketch: undefined as ReturnType<typeof emptySketch> | undefined };
    for (const id of ids(DEVICES_LISTED)) if (hear(bucket, id)) bucket.devices.add(id);
    expect(bucket.devices.size).toBe(DEVICES_LISTED);
    expect(bucket.sketch).toBeUndefined();
    expect(deviceCount(bucket)).toBe(DEVICES_LISTED);
    expect(hear(bucket, ids(1)[0]!), "a listed device stays listed").toBe(true);
    expect(hear(bucket, "one-more"), "the first beyond the cap is not listed").toBe(false);
    expect(bucket.devices.size).toBe(DEVICES_LISTED);
    expect(deviceCount(bucket)).toBeGreaterThanOrEqual(DEVICES_LISTED + 1);
    expect(Math.abs(deviceCount(bucket) - 1_001) / 1_001).toBeLessThan(0.05);
  });

  it("an hour of 15,000 distinct 128-char devices: totals exact, devices within 5%, the listed ones bounded", () => {
    const set = emptyProjectionSet();
    const start = Date.UTC(2026, 11, 3, 10);
    const devices = ids(15_000, "sensor");
    devices.forEach((deviceId, i) => evolve(set, { deviceId, occurredAt: start + (i % 60) * 60_000, vote: 1, temperature: 20 }));
    const hour = set.hours.get(start)!;
    expect(hour.tally.votes).toBe(15_000);
    expect(hour.devices.size).toBe(DEVICES_LISTED);
    expect(Math.abs(deviceCount(hour) - 15_000) / 15_000).toBeLessThan(0.05);
    // 250 devices per minute: every minute lists all its devices, exactly.
    for (const m of set.minutes.values()) expect(deviceCount(m)).toBe(250);
    // The live window at the end of the hour: 60 uncapped minutes, 15,000 distinct: the exact union.
    expect(scoreWindowAt(set.minutes.values(), start + 60 * 60_000 - 1).devices).toBe(15_000);
  });

  it("the window over capped minutes counts the union once, not per minute", () => {
    const set = emptyProjectionSet();
    const start = Date.UTC(2026, 11, 3, 10);
    const devices = ids(3_000);
    // The same 3,000 devices in each of 5 minutes: every minute capped, the window still ~3,000.
    for (let m = 0; m < 5; m++) for (const deviceId of devices) evolve(set, { deviceId, occurredAt: start + m * 60_000, vote: 0.5 });
    for (const minute of set.minutes.values()) expect(minute.sketch).toBeDefined();
    const window = scoreWindowAt(set.minutes.values(), start + 5 * 60_000);
    expect(window.votes).toBe(15_000);
    expect(Math.abs(window.devices - 3_000) / 3_000).toBeLessThan(0.05);
    expect(distinctDevices([])).toBe(0);
  });
});
