import { describe, expect, it } from "vitest";
import { DEFAULT_RULES, type IngestEvent, type Rule } from "../../../protocol";
import { decide, type LocationInput } from "../../../domain/location/decide";
import { allocate, type Entry } from "../../../domain/location/entries";
import { evolve, initialState, type LocationState } from "../../../domain/location/state";
import { nextLiveWindowChange, nextVerdictChange } from "../../../domain/location/timing";

/**
 * The location's decider, given/when/then: `given` folds log entries into a
 * state with `evolve`, `when` runs `decide` at an instant, `then` compares the
 * entries it would append (seqs and ids allocated as the object does).
 */
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const MIN = 60_000;

let nextSeq = 1;
const base = (at: number) => ({ seq: nextSeq++, occurredAt: at, recordedAt: at });
const vote = (deviceId: string, value: 0 | 0.5 | 1, at: number): Entry => ({ ...base(at), id: `m-${nextSeq}`, type: "reading", deviceId, vote: value });
const rulesSet = (rules: Rule[], at: number): Entry => ({ ...base(at), id: `~rules-${nextSeq}`, type: "rules-set", rules });
const raisedAlert = (ruleId: string, deviceId: string, at: number): Entry => ({
  ...base(at),
  id: `~alert-${nextSeq}`,
  type: "alert-raised",
  ruleId,
  deviceId,
  metric: "score",
  op: "below",
  threshold: 0.7,
  value: 0,
  samples: 3,
});

/** The history as entry builders, so seqs count from 1 in every test. */
const given = (...build: (() => Entry)[]) => {
  nextSeq = 1;
  const entries = build.map((b) => b());
  const state: LocationState = initialState();
  for (const e of entries) evolve(state, e);
  return {
    state,
    when: (input: LocationInput, now: number) => {
      const decided = allocate(state.head, decide(state, input, now), now);
      return { then: (expected: Partial<Entry>[]) => expect(decided).toEqual(expected.map((e) => expect.objectContaining(e))) };
    },
  };
};

const ingest = (...events: Omit<IngestEvent, "location">[]): LocationInput => ({
  type: "ingest",
  events: events.map((e) => ({ ...e, location: "MTC" })),
});
const sad = (id: string, deviceId: string, at: number) => ({ id, deviceId, occurredAt: at, vote: 0 as const });
const oneMinute: Rule = { ...DEFAULT_RULES[0]!, windowMinutes: 1 };

describe("decide: ingest", () => {
  it("appends one reading per event, then raises the alert and its command when the third sad vote arrives", () => {
    given().when(ingest(sad("a", "d1", T0), sad("b", "d1", T0 + 1), sad("c", "d1", T0 + 2)), T0 + 10).then([
      { seq: 1, id: "a", type: "reading", deviceId: "d1", vote: 0 },
      { seq: 2, id: "b", type: "reading" },
      { seq: 3, id: "c", type: "reading" },
      { seq: 4, id: "~alert-4", type: "alert-raised", ruleId: "low-score", deviceId: "d1", value: 0, samples: 3, occurredAt: T0 + 10 },
      { seq: 5, id: "~cmd-5", type: "command-issued", deviceId: "d1", payload: "ON", ruleId: "low-score", cause: "~alert-4" },
    ]);
  });

  it("judges the new readings together with the window already held", () => {
    given(
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0 + 1),
    )
      .when(ingest(sad("c", "d1", T0 + 2)), T0 + 10)
      .then([{ seq: 3, type: "reading" }, { seq: 4, type: "alert-raised" }, { seq: 5, type: "command-issued" }]);
  });

  it("raises nothing again while the alert holds", () => {
    given(
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0),
      () => raisedAlert("low-score", "d1", T0),
    )
      .when(ingest(sad("d", "d1", T0 + 5)), T0 + 10)
      .then([{ seq: 5, id: "d", type: "reading" }]);
  });
});

describe("decide: tick (time passes)", () => {
  const alerted = () =>
    given(
      () => rulesSet([oneMinute], T0 - MIN),
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0),
      () => raisedAlert("low-score", "d1", T0),
    );

  it("clears a silent device's alert once its votes left the rule's window, with the clear command", () => {
    alerted()
      .when({ type: "tick" }, T0 + MIN + 1)
      .then([
        { seq: 6, id: "~clear-6", type: "alert-cleared", deviceId: "d1", value: null, samples: 0 },
        { seq: 7, id: "~cmd-7", type: "command-issued", payload: "OFF", cause: "~clear-6" },
      ]);
  });

  it("changes nothing while the votes are still in the window", () => {
    alerted().when({ type: "tick" }, T0 + MIN).then([]);
  });

  it("says exactly when the verdict will change: when the last sad vote's minute leaves the window", () => {
    const { state } = alerted();
    expect(nextVerdictChange(state, T0 + 5_000)).toBe(T0 + MIN + 1);
  });

  it("needs no alarm for rules when aging changes no verdict", () => {
    const { state } = given(
      () => vote("d1", 1, T0),
      () => vote("d1", 1, T0 + MIN),
    );
    expect(nextVerdictChange(state, T0 + 2 * MIN)).toBeNull();
  });

  it("finds a raise that aging causes: happy votes leaving a window whose newer votes are sad", () => {
    const { state } = given(
      () => rulesSet([{ ...oneMinute, windowMinutes: 5, minSamples: 2 }], T0 - MIN),
      ...Array.from({ length: 5 }, () => () => vote("d1", 1, T0)),
      () => vote("d1", 0, T0 + 2 * MIN),
      () => vote("d1", 0, T0 + 2 * MIN),
    );
    // 5 happy + 2 sad = 0.71: the rule does not hold. Once the happy minute leaves, 2 sad votes remain: it does.
    expect(nextVerdictChange(state, T0 + 3 * MIN)).toBe(T0 + 5 * MIN + 1);
  });

  it("the live window next changes when its oldest minute leaves it; never when it is empty", () => {
    const { state } = given(() => vote("d1", 1, T0 + 30_000));
    expect(nextLiveWindowChange(state, T0 + MIN)).toBe(T0 + 60 * MIN + 1);
    expect(nextLiveWindowChange(initialState(), T0)).toBeNull();
  });
});

describe("decide: rules", () => {
  it("sets the rules, clears alerts of a replaced rule and judges the devices in the new window", () => {
    given(
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0),
      () => vote("d1", 0, T0),
      () => raisedAlert("low-score", "d1", T0),
    )
      .when({ type: "set-rules", rules: [{ ...DEFAULT_RULES[0]!, threshold: 0.1 }] }, T0 + 10)
      .then([
        { seq: 5, id: "~rules-5", type: "rules-set" },
        { seq: 6, type: "alert-cleared", deviceId: "d1" },
        { seq: 7, type: "command-issued", payload: "OFF", cause: "~clear-6" },
        { seq: 8, type: "alert-raised", deviceId: "d1", threshold: 0.1 },
        { seq: 9, type: "command-issued", payload: "ON", cause: "~alert-8" },
      ]);
  });

  it("judges each rule over its own window", () => {
    const longer: Rule = { ...DEFAULT_RULES[0]!, id: "day", windowMinutes: 1440 };
    given(
      () => rulesSet([oneMinute, longer], T0 - MIN),
      () => vote("d1", 0, T0 - 30 * MIN),
      () => vote("d1", 0, T0 - 30 * MIN),
    )
      .when(ingest(sad("x", "d1", T0)), T0 + 1)
      .then([
        { type: "reading", id: "x" },
        { type: "alert-raised", ruleId: "day", samples: 3 },
        { type: "command-issued", ruleId: "day" },
      ]);
  });
});

describe("decide: deliveries", () => {
  it("records each undelivered command once; delivered, unknown and repeated ids add nothing", () => {
    given()
      .when(
        {
          type: "record-deliveries",
          deliveries: [
            { id: "~cmd-5", deliveredAt: T0, command: { deviceId: "d1", delivered: false } },
            { id: "~cmd-5", deliveredAt: T0, command: { deviceId: "d1", delivered: false } },
            { id: "~cmd-9", deliveredAt: T0, command: { deviceId: "d2", delivered: true } },
            { id: "~cmd-11", deliveredAt: T0, command: null },
          ],
        },
        T0 + 5,
      )
      .then([{ seq: 1, id: "~delivered-1", type: "command-delivered", deviceId: "d1", commandId: "~cmd-5", occurredAt: T0, recordedAt: T0 + 5 }]);
  });
});
