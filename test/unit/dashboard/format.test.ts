import { describe, expect, it } from "vitest";
import {
  NONE,
  describeVote,
  formatAge,
  formatDegrees,
  formatHour,
  formatHumidity,
  formatLocalTime,
  formatScore,
  formatTemperature,
  scoreTone,
} from "../../../dashboard/src/lib/format";

describe("score", () => {
  it("shows two decimals of the unrounded score, and a dash with no votes", () => {
    expect(formatScore(2 / 3)).toBe("0.67");
    expect(formatScore(0.125)).toBe("0.13");
    expect(formatScore(1)).toBe("1.00");
    expect(formatScore(0)).toBe("0.00");
    expect(formatScore(null)).toBe(NONE);
  });

  it("colours at the original rule's threshold", () => {
    expect(scoreTone(0.7)).toBe("happy");
    expect(scoreTone(0.69)).toBe("neutral");
    expect(scoreTone(0.4)).toBe("neutral");
    expect(scoreTone(0.39)).toBe("sad");
    expect(scoreTone(0)).toBe("sad");
    expect(scoreTone(null)).toBe("none");
    expect(scoreTone(undefined)).toBe("none");
  });
});

describe("readings", () => {
  it("shows °C as stored and converts to °F, one decimal", () => {
    expect(formatTemperature(21.44, "C")).toBe("21.4 °C");
    expect(formatTemperature(25.777, "F")).toBe("78.4 °F"); // the original device's 78.4 °F
    expect(formatTemperature(-40, "F")).toBe("-40.0 °F");
    expect(formatTemperature(0, "C")).toBe("0.0 °C");
    expect(formatDegrees(70.5, "F")).toBe("70.5 °F");
  });

  it("shows a dash, never 0 or NaN, for a missing reading", () => {
    expect(formatTemperature(null, "C")).toBe(NONE);
    expect(formatTemperature(undefined, "F")).toBe(NONE);
    expect(formatHumidity(null)).toBe(NONE);
    expect(formatHumidity(undefined)).toBe(NONE);
    expect(formatHumidity(0)).toBe("0.0 %");
    expect(formatHumidity(34.1)).toBe("34.1 %");
  });

  it("names each vote and keeps its number", () => {
    expect(describeVote(1)).toEqual({ label: "happy", value: "1" });
    expect(describeVote(0.5)).toEqual({ label: "neutral", value: "0.5" });
    expect(describeVote(0)).toEqual({ label: "sad", value: "0" });
  });
});

describe("time", () => {
  const now = Date.parse("2026-03-02T15:00:00Z");

  it("shows the event's own instant in the viewer's zone: time alone on the same local day", () => {
    const text = formatLocalTime("2026-03-02T14:05:09Z", now, "UTC");
    expect(text).toMatch(/0?2:05:09|14:05:09/);
    expect(text).not.toMatch(/Mar/);
  });

  it("adds the date when the local day differs, judged in the viewer's zone", () => {
    // 01:00 UTC is still the evening before in New York, and 15:00 UTC is the same day there.
    expect(formatLocalTime("2026-03-02T01:00:00Z", now, "America/New_York")).toMatch(/Mar 1/);
    expect(formatLocalTime("2026-03-02T01:00:00Z", now, "UTC")).not.toMatch(/Mar/);
    expect(formatLocalTime("2026-03-02T01:00:00Z", now, "Asia/Tokyo")).toMatch(/(0?10|22):00:00/);
  });

  it("labels hours on a 24-hour clock in the viewer's zone", () => {
    expect(formatHour("2026-03-02T14:00:00Z", "UTC")).toBe("14:00");
    expect(formatHour("2026-03-02T14:00:00Z", "Asia/Kolkata")).toBe("19:30");
  });

  it("says how old a fact is", () => {
    const at = (ms: number) => new Date(now - ms).toISOString();
    expect(formatAge(null, now)).toBe("never");
    expect(formatAge(at(2_000), now)).toBe("just now");
    expect(formatAge(at(-3_000), now)).toBe("just now"); // a clock slightly ahead is not "in -3 s"
    expect(formatAge(at(42_000), now)).toBe("42 s ago");
    expect(formatAge(at(5 * 60_000), now)).toBe("5 min ago");
    expect(formatAge(at(3 * 3_600_000), now)).toBe("3 h ago");
    expect(formatAge(at(3 * 86_400_000), now)).toBe("3 d ago");
  });
});
