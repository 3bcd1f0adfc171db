import { describe, expect, it } from "vitest";
import { formatIssues } from "../../../protocol/issues";
import { settingsBody } from "../../../protocol/settings";
import { decide } from "../../../domain/location/decide";
import { allocate } from "../../../domain/location/entries";
import { evolve, initialState } from "../../../domain/location/state";

const issues = (body: unknown) => {
  const r = settingsBody.safeParse(body);
  return r.success ? [] : formatIssues(r.error);
};

describe("settingsBody", () => {
  it("accepts a zone alone, and zone, hours, name and digest time", () => {
    expect(issues({ timeZone: "Europe/London" })).toEqual([]);
    expect(
      issues({ timeZone: "Asia/Kathmandu", openingHours: { mon: [["13:00", "24:00"], ["08:00", "12:00"]], sun: [] }, displayName: "Paoli", digestAt: "07:30" }),
    ).toEqual([]);
  });

  it.each([
    [{ timeZone: "Mars/Olympus" }, ['timeZone: unknown time zone "Mars/Olympus": use an IANA name such as Europe/London or America/New_York']],
    [{ timeZone: "+05:00" }, ['timeZone: unknown time zone "+05:00": use an IANA name such as Europe/London or America/New_York']],
    [{}, ["timeZone: timeZone must be a string (an IANA name such as Europe/London)"]],
    [{ timeZone: "UTC", openingHours: { mon: [["25:00", "26:00"]] } }, ["openingHours.mon.0.0: opening time must be a time from 00:00 to 23:59", "openingHours.mon.0.1: closing time must be a time from 00:00 to 24:00"]],
    [{ timeZone: "UTC", openingHours: { mon: [["08:00", "24:01"]] } }, ["openingHours.mon.0.1: closing time must be a time from 00:00 to 24:00"]],
    [{ timeZone: "UTC", openingHours: { mon: [["20:00", "08:00"]] } }, ["openingHours.mon.0: 20:00–08:00 is reversed or empty: the opening time must be before the closing time (split spans past midnight over two days)"]],
    [{ timeZone: "UTC", openingHours: { tue: [["08:00", "12:00"], ["11:00", "14:00"]] } }, ["openingHours.tue.1: 11:00–14:00 overlaps 08:00–12:00"]],
    [{ timeZone: "UTC", openingHours: { monday: [["08:00", "12:00"]] } }, ['openingHours: unknown weekday "monday": use mon, tue, wed, thu, fri, sat, sun']],
    [{ timeZone: "UTC", openingHours: { mon: [["08:10", "12:00"]] } }, ["openingHours.mon.0.0: opening time must be on a quarter hour (:00, :15, :30 or :45)"]],
    [{ timeZone: "UTC", openingHours: { mon: [["8:00", "12:00"]] } }, ['openingHours.mon.0.0: opening time must be "HH:MM" (24-hour clock)']],
    [{ timeZone: "UTC", digestAt: "24:00" }, ["digestAt: digestAt must be a time from 00:00 to 23:59"]],
    [{ timeZone: "UTC", displayName: "  " }, ["displayName: displayName must not be empty"]],
    [{ timeZone: "UTC", colour: "red" }, ['unknown field "colour"']],
  ])("%j → %j", (body, expected) => {
    expect(issues(body)).toEqual(expected);
  });
});

describe("decide: set-settings", () => {
  const NOW = Date.UTC(2026, 11, 3, 12);
  it("appends one settings-set entry; the same settings again (spans in another order) append nothing", () => {
    const state = initialState();
    const settings = { timeZone: "America/New_York", openingHours: { mon: [["08:00", "12:00"], ["13:00", "17:00"]] as [string, string][] } };
    const entries = allocate(0, decide(state, { type: "set-settings", settings }, NOW), NOW);
    expect(entries).toEqual([{ seq: 1, id: "~settings-1", type: "settings-set", settings, occurredAt: NOW, recordedAt: NOW }]);
    for (const e of entries) evolve(state, e);
    expect(state.calendar.settings).toEqual(settings);
    expect(state.calendar.settingsSeq).toBe(1);
    const reordered = { openingHours: { mon: [["13:00", "17:00"], ["08:00", "12:00"]] as [string, string][] }, timeZone: "America/New_York" };
    expect(decide(state, { type: "set-settings", settings: reordered }, NOW)).toEqual([]);
    expect(decide(state, { type: "set-settings", settings: { timeZone: "UTC" } }, NOW)).toHaveLength(1);
  });

  it("the defaults set explicitly are still logged once (the location says so from then on)", () => {
    expect(decide(initialState(), { type: "set-settings", settings: { timeZone: "UTC" } }, NOW)).toHaveLength(1);
  });
});
