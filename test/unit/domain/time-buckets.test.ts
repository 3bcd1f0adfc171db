import { describe, expect, it } from "vitest";
import { HOUR_MS, MINUTE_MS, hourStart, minuteStart, windowStart } from "../../../domain/time-buckets";

const at = (iso: string) => Date.parse(iso);

describe("minute and hour buckets", () => {
  it("floor to the start of the minute and of the UTC hour", () => {
    expect(minuteStart(at("2024-03-10T10:15:59.999Z"))).toBe(at("2024-03-10T10:15:00Z"));
    expect(minuteStart(at("2024-03-10T10:15:00Z"))).toBe(at("2024-03-10T10:15:00Z"));
    expect(hourStart(at("2024-03-10T10:59:59.999Z"))).toBe(at("2024-03-10T10:00:00Z"));
    expect(hourStart(at("2024-03-10T11:00:00Z"))).toBe(at("2024-03-10T11:00:00Z"));
    expect(HOUR_MS).toBe(60 * MINUTE_MS);
  });
});

describe("windowStart", () => {
  it("is now − 60 minutes when that falls on a minute", () => {
    expect(windowStart(at("2024-03-10T12:00:00Z"))).toBe(at("2024-03-10T11:00:00Z"));
  });

  it("rounds up to the next minute otherwise, so every counted event is within 60 minutes", () => {
    expect(windowStart(at("2024-03-10T12:00:00.001Z"))).toBe(at("2024-03-10T11:01:00Z"));
    expect(windowStart(at("2024-03-10T12:00:59.999Z"))).toBe(at("2024-03-10T11:01:00Z"));
    expect(windowStart(at("2024-03-10T12:30:30Z"))).toBe(at("2024-03-10T11:31:00Z"));
  });

  it("never starts before now − 60 minutes nor more than a minute after it", () => {
    for (let now = at("2024-03-10T12:00:00Z"); now < at("2024-03-10T12:02:00Z"); now += 7_919) {
      const from = windowStart(now);
      expect(from).toBeGreaterThanOrEqual(now - HOUR_MS);
      expect(from).toBeLessThan(now - HOUR_MS + MINUTE_MS);
      expect(from % MINUTE_MS).toBe(0);
    }
  });
});
