import { describe, expect, it } from "vitest";
import { dayNumber, dayStartUtc, isoWeekName, localIso, mondayOf, offsetAt, weekdayOf } from "../../../domain/calendar/zone";

const at = (iso: string) => Date.parse(iso);

/** Offsets straight from the tz database's rules for 2026, written out by hand (not computed by the helper). */
describe("offsetAt and localIso: offsets around each change", () => {
  it.each([
    // Europe/London: BST starts 2026-03-29 01:00 UTC, ends 2026-10-25 01:00 UTC.
    ["Europe/London", "2026-03-29T00:59:59Z", 0, "2026-03-29T00:59:59+00:00"],
    ["Europe/London", "2026-03-29T01:00:00Z", 60, "2026-03-29T02:00:00+01:00"],
    ["Europe/London", "2026-10-25T00:59:59Z", 60, "2026-10-25T01:59:59+01:00"],
    ["Europe/London", "2026-10-25T01:00:00Z", 0, "2026-10-25T01:00:00+00:00"],
    // America/New_York: EDT from 2026-03-08 07:00 UTC to 2026-11-01 06:00 UTC.
    ["America/New_York", "2026-03-08T06:59:00Z", -300, "2026-03-08T01:59:00-05:00"],
    ["America/New_York", "2026-03-08T07:00:00Z", -240, "2026-03-08T03:00:00-04:00"],
    ["America/New_York", "2026-11-01T05:59:00Z", -240, "2026-11-01T01:59:00-04:00"],
    ["America/New_York", "2026-11-01T06:00:00Z", -300, "2026-11-01T01:00:00-05:00"],
    // Half-hour and 45-minute zones, no DST.
    ["Asia/Kolkata", "2026-12-03T18:29:00Z", 330, "2026-12-03T23:59:00+05:30"],
    ["Asia/Kolkata", "2026-12-03T18:30:00Z", 330, "2026-12-04T00:00:00+05:30"],
    ["Asia/Kathmandu", "2026-12-03T18:15:00Z", 345, "2026-12-04T00:00:00+05:45"],
    // Australia/Lord_Howe: a 30-minute DST; +11 until 2026-04-04 15:00 UTC, +10:30 until 2026-10-03 15:30 UTC.
    ["Australia/Lord_Howe", "2026-04-04T14:59:00Z", 660, "2026-04-05T01:59:00+11:00"],
    ["Australia/Lord_Howe", "2026-04-04T15:00:00Z", 630, "2026-04-05T01:30:00+10:30"],
    ["Australia/Lord_Howe", "2026-10-03T15:29:00Z", 630, "2026-10-04T01:59:00+10:30"],
    ["Australia/Lord_Howe", "2026-10-03T15:30:00Z", 660, "2026-10-04T02:30:00+11:00"],
    ["UTC", "2026-06-01T12:00:00Z", 0, "2026-06-01T12:00:00+00:00"],
  ])("%s at %s: %i minutes, %s", (zone, iso, offset, local) => {
    expect(offsetAt(zone, at(iso))).toBe(offset);
    expect(localIso(zone, at(iso))).toBe(local);
  });
});

describe("dayStartUtc: local days and their lengths", () => {
  it.each([
    ["Europe/London", "2026-03-29", "2026-03-29T00:00:00.000Z", 23],
    ["Europe/London", "2026-10-25", "2026-10-24T23:00:00.000Z", 25],
    ["Europe/London", "2026-07-01", "2026-06-30T23:00:00.000Z", 24],
    ["America/New_York", "2026-03-08", "2026-03-08T05:00:00.000Z", 23],
    ["America/New_York", "2026-11-01", "2026-11-01T04:00:00.000Z", 25],
    ["Asia/Kolkata", "2026-12-03", "2026-12-02T18:30:00.000Z", 24],
    ["Asia/Kathmandu", "2026-12-03", "2026-12-02T18:15:00.000Z", 24],
    ["Australia/Lord_Howe", "2026-04-05", "2026-04-04T13:00:00.000Z", 24.5],
    ["Australia/Lord_Howe", "2026-10-04", "2026-10-03T13:30:00.000Z", 23.5],
  ])("%s %s starts at %s and lasts %d hours", (zone, date, start, hours) => {
    const day = dayNumber(date);
    expect(new Date(dayStartUtc(zone, day)).toISOString()).toBe(start);
    expect((dayStartUtc(zone, day + 1) - dayStartUtc(zone, day)) / 3_600_000).toBe(hours);
  });
});

describe("weeks", () => {
  it.each([
    ["2026-12-03", 4, "2026-11-30", "2026-W49"],
    ["2026-12-31", 4, "2026-12-28", "2026-W53"],
    ["2027-01-01", 5, "2026-12-28", "2026-W53"],
    ["2026-01-01", 4, "2025-12-29", "2026-W01"],
    ["2024-12-30", 1, "2024-12-30", "2025-W01"],
    ["2026-03-29", 7, "2026-03-23", "2026-W13"],
  ])("%s: weekday %i, Monday %s, %s", (date, weekday, monday, week) => {
    const day = dayNumber(date);
    expect(weekdayOf(day)).toBe(weekday);
    expect(new Date(mondayOf(day) * 86_400_000).toISOString().slice(0, 10)).toBe(monday);
    expect(isoWeekName(mondayOf(day))).toBe(week);
  });
});
