import { describe, expect, it } from "vitest";
import { rule, type Rule } from "../../../protocol";
import type { LocationSettings } from "../../../protocol/settings";
import { decide, type LocationInput } from "../../../domain/location/decide";
import { allocate, type Entry } from "../../../domain/location/entries";
import { evolve, initialState, type LocationState } from "../../../domain/location/state";
import { nextVerdictChange } from "../../../domain/location/timing";
import { nextOpenWindowChange, openThroughout } from "../../../domain/rules-location";

/**
 * "Fewer than N votes during opening hours", given/when/then: the `votes`
 * metric is judged only while the location has been open for the rule's whole
 * window, and the alarm (nextVerdictChange) comes back when opening hours alone
 * change the verdict: an empty hour raises the alert with no event arriving.
 */
const MIN = 60_000;
/** Europe/London in summer is UTC+1: local 09:00 on Monday 2026-06-01 is 08:00Z. */
const local = (day: number, h: number, m = 0) => Date.UTC(2026, 5, day, h - 1, m);
const MON = 1; // 2026-06-01 is a Monday
const SAT = 6;

const weekdays = [["08:00", "20:00"]] as [string, string][];
const london: LocationSettings = { timeZone: "Europe/London", openingHours: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays } };
const quiet: Rule = rule.parse({ id: "quiet", scope: "location", metric: "votes", op: "below", threshold: 3, windowMinutes: 60 });

let nextSeq = 1;
const base = (at: number) => ({ seq: nextSeq++, occurredAt: at, recordedAt: at });
const settingsSet = (settings: LocationSettings, at: number) => (): Entry => ({ ...base(at), id: `~settings-${nextSeq}`, type: "settings-set", settings });
const rulesSet = (rules: Rule[], at: number) => (): Entry => ({ ...base(at), id: `~rules-${nextSeq}`, type: "rules-set", rules });
const vote = (at: number) => (): Entry => ({ ...base(at), id: `m-${nextSeq}`, type: "reading", deviceId: "d1", vote: 1 });
const quietAlert = (at: number) => (): Entry => ({ ...base(at), id: `~alert-${nextSeq}`, type: "alert-raised", ruleId: "quiet", metric: "votes", op: "below", threshold: 3, value: 0, samples: 0 });

const given = (...build: (() => Entry)[]) => {
  nextSeq = 1;
  const state: LocationState = initialState();
  for (const b of build) evolve(state, b());
  return {
    state,
    when: (input: LocationInput, now: number) => ({
      then: (expected: Partial<Entry>[]) => expect(allocate(state.head, decide(state, input, now), now)).toEqual(expected.map((e) => expect.objectContaining(e))),
    }),
  };
};
const tick: LocationInput = { type: "tick" };

describe("the votes metric: its rule", () => {
  it("is a location rule counting whole votes; anything else is refused with the reason", () => {
    expect(quiet).toMatchObject({ scope: "location", metric: "votes", threshold: 3 });
    const issues = (input: unknown) => rule.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues({ id: "q", metric: "votes", op: "below", threshold: 3 })).toEqual(['scope: the votes metric needs scope "location"']);
    expect(issues({ id: "q", scope: "location", metric: "votes", op: "below", threshold: 2.5 })).toEqual(["threshold: a votes threshold must be a whole number from 1 to 100000"]);
    expect(issues({ id: "q", scope: "location", metric: "votes", op: "below", threshold: 0 })).toEqual(["threshold: a votes threshold must be a whole number from 1 to 100000"]);
    expect(issues({ id: "q", scope: "location", metric: "votez", op: "below", threshold: 3 })).toEqual(['metric: metric must be "score", "temperature", "humidity", "sad-share", "votes" or "offline"']);
  });
});

describe("decide: fewer than N votes during opening hours", () => {
  it("raises the alert for an open hour with too few votes, on a tick with nothing arriving", () => {
    given(settingsSet(london, local(MON, 7)), rulesSet([quiet], local(MON, 7)), vote(local(MON, 9, 10)), vote(local(MON, 9, 20)))
      .when(tick, local(MON, 9, 30))
      .then([{ type: "alert-raised", ruleId: "quiet", metric: "votes", op: "below", threshold: 3, value: 2, samples: 2 }]);
  });

  it("says nothing while the window still reaches into closed time (the first hour after opening), nor at the weekend", () => {
    given(settingsSet(london, local(MON, 7)), rulesSet([quiet], local(MON, 7))).when(tick, local(MON, 8, 30)).then([]);
    given(settingsSet(london, local(SAT, 7)), rulesSet([quiet], local(SAT, 7))).when(tick, local(SAT, 12)).then([]);
  });

  it("says nothing when the hour had enough votes", () => {
    given(settingsSet(london, local(MON, 7)), rulesSet([quiet], local(MON, 7)), vote(local(MON, 9)), vote(local(MON, 9, 1)), vote(local(MON, 9, 2)))
      .when(tick, local(MON, 9, 30))
      .then([]);
  });

  it("clears its alert when the location closes (closed is not quiet)", () => {
    given(settingsSet(london, local(MON, 7)), rulesSet([quiet], local(MON, 7)), quietAlert(local(MON, 10)))
      .when(tick, local(MON, 20))
      .then([{ type: "alert-cleared", ruleId: "quiet", value: null, samples: 0 }]);
  });

  it("without opening hours is always in force", () => {
    given(rulesSet([quiet], local(SAT, 1))).when(tick, local(SAT, 3)).then([{ type: "alert-raised", ruleId: "quiet", value: 0, samples: 0 }]);
  });
});

describe("timing: opening hours wake the location", () => {
  it("an idle, closed location with a votes rule wakes when a whole window has been open (no event needed)", () => {
    const { state } = given(settingsSet(london, local(MON, 6)), rulesSet([quiet], local(MON, 6)));
    // The window [08:00, 09:00) is wholly open once the 07:59 minute leaves it.
    expect(nextVerdictChange(state, local(MON, 7))).toBe(local(MON, 8, 59) + 1);
  });

  it("a raised alert with an empty window is not due at once (no alarm loop); it is due at closing", () => {
    const { state } = given(settingsSet(london, local(MON, 6)), rulesSet([quiet], local(MON, 6)), quietAlert(local(MON, 10)));
    expect(nextVerdictChange(state, local(MON, 10))).toBe(local(MON, 20));
  });

  it("a verdict that already disagrees (an empty open window, not raised) is due now", () => {
    const { state } = given(rulesSet([quiet], local(MON, 6)));
    expect(nextVerdictChange(state, local(MON, 10))).toBe(local(MON, 10));
  });

  it("follows the zone's offset: Asia/Kolkata (+5:30) opens at 09:00 = 03:30Z, so its first whole open hour ends at 04:30Z", () => {
    const kolkata: LocationSettings = { timeZone: "Asia/Kolkata", openingHours: { mon: [["09:00", "18:00"]] } };
    const midnightZ = Date.UTC(2026, 5, 1);
    expect(nextOpenWindowChange(kolkata, midnightZ, 60 * MIN)).toBe(Date.UTC(2026, 5, 1, 4, 29) + 1);
    expect(openThroughout(kolkata, Date.UTC(2026, 5, 1, 4, 30), 60 * MIN)).toBe(true);
    expect(openThroughout(kolkata, Date.UTC(2026, 5, 1, 4, 0), 60 * MIN)).toBe(false);
    expect(nextOpenWindowChange({ timeZone: "Asia/Kolkata" }, midnightZ, 60 * MIN)).toBeNull();
  });

  it("is null when no window ever fits in the opening hours", () => {
    expect(nextOpenWindowChange({ timeZone: "UTC", openingHours: { mon: [["09:00", "09:30"]] } }, Date.UTC(2026, 5, 1), 60 * MIN)).toBeNull();
  });
});

describe("the sad-share metric: share of sad votes over the window", () => {
  const sadShare: Rule = rule.parse({ id: "sad-share", scope: "location", metric: "sad-share", op: "above", threshold: 0.5, windowMinutes: 15, minSamples: 4 });
  const voteOf = (value: 0 | 0.5 | 1, deviceId: string, at: number) => (): Entry => ({ ...base(at), id: `m-${nextSeq}`, type: "reading", deviceId, vote: value });
  const T = Date.UTC(2026, 11, 3, 12, 0);

  it("takes a share from 0 to 1; anything else is refused with the reason", () => {
    const issues = (input: unknown) => rule.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues({ id: "s", scope: "location", metric: "sad-share", op: "above", threshold: 50 })).toEqual(["threshold: a sad-share threshold must be between 0 and 1"]);
    expect(issues({ id: "s", scope: "location", metric: "sad-share", op: "above", threshold: -0.1 })).toEqual(["threshold: a sad-share threshold must be between 0 and 1"]);
    expect(issues({ id: "s", scope: "location", metric: "sad-share", op: "above", threshold: "half" })).toEqual(["threshold: threshold must be a finite number"]);
  });

  it("raises when more than half of at least 4 votes of the last 15 minutes, from all devices, are sad (neutral is not sad)", () => {
    given(rulesSet([sadShare], T - 20 * MIN), voteOf(0, "d1", T - 5 * MIN), voteOf(0, "d2", T - 4 * MIN), voteOf(0.5, "d1", T - 3 * MIN))
      .when({ type: "ingest", events: [{ id: "e4", deviceId: "d2", location: "MTC", occurredAt: T - MIN, vote: 0 }] }, T)
      .then([{ type: "reading" }, { type: "alert-raised", ruleId: "sad-share", metric: "sad-share", op: "above", threshold: 0.5, value: 0.75, samples: 4 }]);
  });

  it("says nothing at exactly half, with too few votes, or for sad votes older than the window", () => {
    given(rulesSet([sadShare], T - 20 * MIN), voteOf(0, "d1", T - 5 * MIN), voteOf(0, "d2", T - 4 * MIN), voteOf(0.5, "d1", T - 3 * MIN), voteOf(1, "d1", T - 2 * MIN)).when(tick, T).then([]);
    given(rulesSet([sadShare], T - 20 * MIN), voteOf(0, "d1", T - 5 * MIN), voteOf(0, "d2", T - 4 * MIN), voteOf(0, "d1", T - 3 * MIN)).when(tick, T).then([]);
    given(rulesSet([sadShare], T - 30 * MIN), voteOf(0, "d1", T - 20 * MIN), voteOf(0, "d2", T - 19 * MIN), voteOf(1, "d1", T - 3 * MIN), voteOf(1, "d1", T - 2 * MIN)).when(tick, T).then([]);
  });

  it("clears by alarm when the sad votes leave the window, with nothing new arriving", () => {
    const raisedAt = T - 2 * MIN;
    const { state, when } = given(
      rulesSet([sadShare], T - 20 * MIN),
      voteOf(0, "d1", T - 10 * MIN),
      voteOf(0, "d2", T - 10 * MIN),
      voteOf(0, "d1", T - 10 * MIN),
      voteOf(1, "d1", T - 2 * MIN),
      () => ({ ...base(raisedAt), id: `~alert-${nextSeq}`, type: "alert-raised", ruleId: "sad-share", metric: "sad-share", op: "above", threshold: 0.5, value: 0.75, samples: 4 }),
    );
    const at = nextVerdictChange(state, T);
    // The minute of the three sad votes leaves the 15-minute window.
    expect(at).toBe(T - 10 * MIN + 15 * MIN + 1);
    when(tick, at!).then([{ type: "alert-cleared", ruleId: "sad-share", value: 0, samples: 1 }]);
  });
});
