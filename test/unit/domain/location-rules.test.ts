import { describe, expect, it } from "vitest";
import { rule, rulesBody, type IngestEvent, type Rule } from "../../../protocol";
import { decide, type LocationInput } from "../../../domain/location/decide";
import { allocate, type Entry } from "../../../domain/location/entries";
import { evolve, initialState, type LocationState } from "../../../domain/location/state";
import { nextVerdictChange } from "../../../domain/location/timing";

/**
 * Location-scope rules, given/when/then as in location.test.ts: a rule that
 * judges the whole location's window (every device's votes together), raises
 * an alert that names no device, and commands nobody.
 */
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const MIN = 60_000;

const siteLow: Rule = rule.parse({ id: "site-low", scope: "location", metric: "score", op: "below", threshold: 0.5, minSamples: 4, windowMinutes: 15 });
const deviceLow: Rule = rule.parse({ id: "low-score", metric: "score", op: "below", threshold: 0.7, minSamples: 3 });

let nextSeq = 1;
const base = (at: number) => ({ seq: nextSeq++, occurredAt: at, recordedAt: at });
const vote = (deviceId: string, value: 0 | 0.5 | 1, at: number): Entry => ({ ...base(at), id: `m-${nextSeq}`, type: "reading", deviceId, vote: value });
const rulesSet = (rules: Rule[], at: number): Entry => ({ ...base(at), id: `~rules-${nextSeq}`, type: "rules-set", rules });
const locationAlert = (at: number): Entry => ({ ...base(at), id: `~alert-${nextSeq}`, type: "alert-raised", ruleId: "site-low", metric: "score", op: "below", threshold: 0.5, value: 0, samples: 4 });

const given = (...build: (() => Entry)[]) => {
  nextSeq = 1;
  const state: LocationState = initialState();
  for (const e of build.map((b) => b())) evolve(state, e);
  return {
    state,
    when: (input: LocationInput, now: number) => {
      const decided = allocate(state.head, decide(state, input, now), now);
      return { then: (expected: Partial<Entry>[]) => expect(decided).toEqual(expected.map((e) => expect.objectContaining(e))), decided };
    },
  };
};
const ingest = (...events: Omit<IngestEvent, "location">[]): LocationInput => ({ type: "ingest", events: events.map((e) => ({ ...e, location: "MTC" })) });
const sad = (id: string, deviceId: string, at: number) => ({ id, deviceId, occurredAt: at, vote: 0 as const });
const happy = (id: string, deviceId: string, at: number) => ({ id, deviceId, occurredAt: at, vote: 1 as const });

describe("location rules: the rule set", () => {
  it("takes scope location beside device rules; rules without a scope keep their meaning and shape", () => {
    expect(siteLow.scope).toBe("location");
    expect(deviceLow).not.toHaveProperty("scope");
    expect(rulesBody.parse({ rules: [deviceLow, siteLow] }).rules).toEqual([deviceLow, siteLow]);
    expect(rule.safeParse({ ...siteLow, scope: "planet" }).error?.issues.map((i) => i.message)).toEqual(['scope must be "device" or "location"']);
  });
});

describe("decide: a location rule", () => {
  it("raises one alert for the location when its devices' votes together hold the condition, and no command", () => {
    const decided = given(() => rulesSet([siteLow], T0 - MIN))
      .when(ingest(sad("a", "d1", T0), sad("b", "d1", T0), sad("c", "d2", T0), sad("d", "d2", T0)), T0 + 10);
    decided.then([
      { seq: 2, type: "reading" },
      { seq: 3, type: "reading" },
      { seq: 4, type: "reading" },
      { seq: 5, type: "reading" },
      { seq: 6, id: "~alert-6", type: "alert-raised", ruleId: "site-low", metric: "score", op: "below", threshold: 0.5, value: 0, samples: 4 },
    ]);
    expect(decided.decided.at(-1)).not.toHaveProperty("deviceId");
  });

  it("waits for minSamples across the location, whichever device cast them", () => {
    given(() => rulesSet([siteLow], T0 - MIN))
      .when(ingest(sad("a", "d1", T0), sad("b", "d2", T0), sad("c", "d3", T0)), T0 + 10)
      .then([{ type: "reading" }, { type: "reading" }, { type: "reading" }]);
  });

  it("judges the location's share beside each device's: a happy device keeps the location up while a sad one alerts", () => {
    given(() => rulesSet([deviceLow, siteLow], T0 - MIN))
      .when(ingest(sad("a", "d1", T0), sad("b", "d1", T0), sad("c", "d1", T0), happy("d", "d2", T0), happy("e", "d2", T0), happy("f", "d2", T0)), T0 + 10)
      .then([
        { type: "reading" },
        { type: "reading" },
        { type: "reading" },
        { type: "reading" },
        { type: "reading" },
        { type: "reading" },
        { seq: 8, type: "alert-raised", ruleId: "low-score", deviceId: "d1", samples: 3 },
        { seq: 9, type: "command-issued", deviceId: "d1", payload: "ON", cause: "~alert-8" },
      ]);
  });

  const alerted = () =>
    given(
      () => rulesSet([siteLow], T0 - MIN),
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0),
      () => vote("d2", 0, T0),
      () => vote("d2", 0, T0),
      () => locationAlert(T0),
    );

  it("clears by itself once the votes left its window, with no command", () => {
    alerted().when({ type: "tick" }, T0 + 15 * MIN + 1).then([{ seq: 7, id: "~clear-7", type: "alert-cleared", ruleId: "site-low", value: null, samples: 0 }]);
    alerted().when({ type: "tick" }, T0 + 15 * MIN).then([]);
  });

  it("clears when happy votes lift the location's score, from any device", () => {
    alerted()
      .when(ingest(happy("x", "d3", T0 + MIN), happy("y", "d3", T0 + MIN), happy("z", "d4", T0 + MIN), happy("w", "d4", T0 + MIN)), T0 + MIN)
      .then([{ type: "reading" }, { type: "reading" }, { type: "reading" }, { type: "reading" }, { type: "alert-cleared", ruleId: "site-low", value: 0.5, samples: 8 }]);
  });

  it("says when aging will clear it: when its window's last minute leaves", () => {
    expect(nextVerdictChange(alerted().state, T0 + 5_000)).toBe(T0 + 15 * MIN + 1);
  });

  it("clears when the rule is removed", () => {
    alerted()
      .when({ type: "set-rules", rules: [] }, T0 + MIN)
      .then([{ type: "rules-set" }, { type: "alert-cleared", ruleId: "site-low" }]);
  });
});
