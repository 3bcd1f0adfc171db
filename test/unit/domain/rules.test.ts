import { describe, expect, it } from "vitest";
import { DEFAULT_RULES, type Rule } from "../../../protocol";
import { alertKey, deviceWindows, holds, judge, measure, rulesReplaced } from "../../../domain/rules";
import { emptyProjectionSet, evolve } from "../../../domain/projections";
import { emptyTally, type Tally } from "../../../domain/tally";

const lowScore = DEFAULT_RULES[0]!;
const hot: Rule = { id: "hot", metric: "temperature", op: "above", threshold: 30, minSamples: 2, raise: "FAN", clear: null, windowMinutes: 60 };

/** `judge` over fixed windows, one tally per device whatever the rule. */
const decide = (rules: Rule[], raised: Set<string>, windows: Map<string, Tally>, removed: Rule[] = []) =>
  judge(rules, raised, windows.keys(), (_, deviceId) => windows.get(deviceId) ?? emptyTally(), removed);

const tally = (votes: number[], temps: number[] = []): Tally => {
  const t = emptyTally();
  for (const v of votes) (t.votes++, (t.voteSum += v));
  for (const x of temps) (t.temperatureCount++, (t.temperatureSum += x));
  return t;
};

describe("measure and holds", () => {
  it("scores a device's window as sum/count, unrounded", () => {
    expect(measure(lowScore, tally([0, 0.5, 1, 1]))).toEqual({ value: 0.625, samples: 4 });
  });

  it("needs minSamples before a rule can hold", () => {
    expect(holds(lowScore, measure(lowScore, tally([0, 0])))).toBe(false);
    expect(holds(lowScore, measure(lowScore, tally([0, 0, 0])))).toBe(true);
  });

  it("compares strictly: a score equal to the threshold does not hold", () => {
    const r: Rule = { ...lowScore, threshold: 0.5, minSamples: 1 };
    expect(holds(r, measure(r, tally([0.5])))).toBe(false);
  });

  it("uses the window average for temperature above", () => {
    expect(holds(hot, measure(hot, tally([], [29, 32])))).toBe(true); // mean 30.5
    expect(holds(hot, measure(hot, tally([], [29, 31])))).toBe(false); // mean 30
  });
});

describe("judge", () => {
  it("raises once with its command, then stays quiet while the condition holds", () => {
    const windows = new Map([["d1", tally([0, 0, 0])]]);
    const first = decide([lowScore], new Set(), windows);
    expect(first).toEqual([
      { type: "alert-raised", ruleId: "low-score", deviceId: "d1", metric: "score", op: "below", threshold: 0.7, value: 0, samples: 3 },
      { type: "command-issued", deviceId: "d1", payload: "ON", ruleId: "low-score", causeIndex: 0 },
    ]);
    expect(decide([lowScore], new Set([alertKey("low-score", "d1")]), windows)).toEqual([]);
  });

  it("clears on recovery with the clear command", () => {
    const actions = decide([lowScore], new Set([alertKey("low-score", "d1")]), new Map([["d1", tally([0, 1, 1, 1])]]));
    expect(actions.map((a) => a.type)).toEqual(["alert-cleared", "command-issued"]);
    expect(actions[1]).toMatchObject({ payload: "OFF", causeIndex: 0 });
  });

  it("issues no command for a rule without a payload", () => {
    const actions = decide([hot], new Set([alertKey("hot", "d1")]), new Map([["d1", tally([], [20, 20])]]));
    expect(actions.map((a) => a.type)).toEqual(["alert-cleared"]);
  });

  it("takes devices in sorted order and rules in their order, whatever the map order", () => {
    const windows = new Map([
      ["b", tally([0, 0, 0], [40, 40])],
      ["a", tally([0, 0, 0], [40, 40])],
    ]);
    const ordered = decide([hot, lowScore], new Set(), windows)
      .filter((a) => a.type === "alert-raised")
      .map((a) => `${a.deviceId}/${a.ruleId}`);
    expect(ordered).toEqual(["a/hot", "a/low-score", "b/hot", "b/low-score"]);
  });

  it("clears every alert of a removed rule, then judges the new rules", () => {
    const raised = new Set([alertKey("low-score", "x"), alertKey("low-score", "a")]);
    const windows = new Map([["a", tally([0, 0, 0])]]);
    const stricter: Rule = { ...lowScore, threshold: 0.2 };
    const actions = decide([stricter], raised, windows, rulesReplaced([lowScore], [stricter]));
    expect(actions.filter((a) => a.type !== "command-issued").map((a) => `${a.type} ${a.deviceId}`)).toEqual([
      "alert-cleared a",
      "alert-cleared x",
      "alert-raised a",
    ]);
  });

  it("rulesReplaced lists removed and redefined rules only", () => {
    expect(rulesReplaced([lowScore, hot], [lowScore])).toEqual([hot]);
    expect(rulesReplaced([lowScore], [{ ...lowScore, threshold: 0.5 }])).toEqual([lowScore]);
    expect(rulesReplaced([lowScore], [lowScore])).toEqual([]);
  });
});

describe("deviceWindows", () => {
  it("sums each device's minutes inside the window only", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const set = emptyProjectionSet();
    evolve(set, { deviceId: "d1", occurredAt: now - 61 * 60_000, vote: 1 }); // outside
    evolve(set, { deviceId: "d1", occurredAt: now - 30 * 60_000, vote: 0 });
    evolve(set, { deviceId: "d1", occurredAt: now - 60_000, vote: 0.5 });
    evolve(set, { deviceId: "d2", occurredAt: now - 60_000, vote: 1 });
    const windows = deviceWindows(set.minutes.values(), now, ["d1", "d3"]);
    expect(windows.get("d1")).toMatchObject({ votes: 2, voteSum: 0.5 });
    expect(windows.get("d3")).toEqual(emptyTally());
    expect(windows.has("d2")).toBe(false);
  });
});
