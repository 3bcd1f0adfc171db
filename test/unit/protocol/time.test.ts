import { describe, expect, it } from "vitest";
import { EARLIEST_EVENT_MS, MAX_FUTURE_SKEW_MS, instant, isoString } from "../../../protocol/time";

const ok = (v: unknown) => instant.parse(v);
const issues = (v: unknown) => {
  const r = instant.safeParse(v);
  expect(r.success).toBe(false);
  return r.error!.issues.map((i) => i.message);
};
const NOT_AN_INSTANT = "must be an ISO 8601 date-time with a zone or epoch milliseconds";

describe("instant", () => {
  it("parses ISO 8601 with Z or an offset, and fractional seconds, to epoch ms", () => {
    expect(ok("2024-03-10T10:15:30Z")).toBe(Date.UTC(2024, 2, 10, 10, 15, 30));
    expect(ok("2024-03-10T10:15:30.250Z")).toBe(Date.UTC(2024, 2, 10, 10, 15, 30, 250));
    expect(ok("2024-03-10T12:15:30+02:00")).toBe(Date.UTC(2024, 2, 10, 10, 15, 30));
    expect(ok("2024-03-10T05:15:30-05:00")).toBe(Date.UTC(2024, 2, 10, 10, 15, 30));
    expect(ok("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29));
  });

  it("parses integer epoch milliseconds", () => {
    expect(ok(1_710_065_730_000)).toBe(1_710_065_730_000);
    expect(ok(EARLIEST_EVENT_MS)).toBe(Date.UTC(2000, 0, 1));
  });

  it.each([
    ["no zone", "2024-03-10T10:15:30"],
    ["a date only", "2024-03-10"],
    ["a space instead of T", "2024-03-10 10:15:30Z"],
    ["an offset without a colon", "2024-03-10T10:15:30+0200"],
    ["no seconds", "2024-03-10T10:15Z"],
    ["30 February", "2024-02-30T00:00:00Z"],
    ["29 February of a common year", "2023-02-29T00:00:00Z"],
    ["hour 24", "2024-03-10T24:00:00Z"],
    ["garbage", "soon"],
    ["an empty string", ""],
    ["epoch ms as a string", "1710065730000"],
    ["a fractional epoch", 1_710_065_730_000.5],
    ["a boolean", true],
    ["null", null],
  ])("rejects %s", (_, value) => {
    expect(issues(value)).toContain(NOT_AN_INSTANT);
  });

  it("rejects dates before 2000 (clock or unit bugs), as ISO or epoch", () => {
    expect(issues("1999-12-31T23:59:59.999Z")).toEqual(["must be a date on or after 2000-01-01"]);
    expect(issues(EARLIEST_EVENT_MS - 1)).toEqual(["must be a date on or after 2000-01-01"]);
    expect(issues(1_710_065_730)).toEqual(["must be a date on or after 2000-01-01"]); // epoch seconds
  });

  it("isoString is UTC ISO 8601 with milliseconds", () => {
    expect(isoString(Date.UTC(2024, 2, 10, 10, 15, 30, 5))).toBe("2024-03-10T10:15:30.005Z");
    expect(isoString(ok("2024-03-10T12:15:30+02:00"))).toBe("2024-03-10T10:15:30.000Z");
  });

  it("allows 5 minutes of future skew", () => {
    expect(MAX_FUTURE_SKEW_MS).toBe(5 * 60_000);
  });
});
