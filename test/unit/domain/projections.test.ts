import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyProjectionSet, evolve, touchedKeys, type ProjectionSet, type ReadingFact } from "../../../domain/projections";
import { emptyTally } from "../../../domain/tally";

const at = (iso: string) => Date.parse(iso);
const fold = (facts: ReadingFact[], set: ProjectionSet = emptyProjectionSet()): ProjectionSet => {
  for (const f of facts) evolve(set, f);
  return set;
};

describe("evolve: buckets", () => {
  it("a late event lands in its own minute and hour, next to the newer ones", () => {
    const set = fold([
      { deviceId: "a", occurredAt: at("2024-03-10T12:30:10Z"), vote: 1 },
      { deviceId: "b", occurredAt: at("2024-03-10T09:05:59Z"), vote: 0, temperature: 18 }, // hours late
      { deviceId: "a", occurredAt: at("2024-03-10T12:30:50Z"), vote: 0.5 },
    ]);
    expect([...set.minutes.keys()].sort()).toEqual([at("2024-03-10T09:05:00Z"), at("2024-03-10T12:30:00Z")]);
    expect([...set.hours.keys()].sort()).toEqual([at("2024-03-10T09:00:00Z"), at("2024-03-10T12:00:00Z")]);
    const late = set.minutes.get(at("2024-03-10T09:05:00Z"))!;
    expect(late.tally).toEqual({ ...emptyTally(), votes: 1, temperatureCount: 1, temperatureSum: 18, sad: 1 });
    expect([...late.devices.keys()]).toEqual(["b"]);
    const recent = set.minutes.get(at("2024-03-10T12:30:00Z"))!;
    expect(recent.tally.votes).toBe(2);
    expect(recent.tally.voteSum).toBe(1.5);
    expect(recent.devices.get("a")).toEqual({ ...emptyTally(), votes: 2, voteSum: 1.5 });
    expect([...set.hours.get(at("2024-03-10T12:00:00Z"))!.devices]).toEqual(["a"]);
  });

  it("keeps per-device tallies inside a minute", () => {
    const t = at("2024-03-10T12:00:00Z");
    const set = fold([
      { deviceId: "a", occurredAt: t, humidity: 40 },
      { deviceId: "b", occurredAt: t + 1, vote: 1 },
      { deviceId: "a", occurredAt: t + 2, humidity: 50 },
    ]);
    const m = set.minutes.get(t)!;
    expect(m.devices.get("a")).toEqual({ ...emptyTally(), humidityCount: 2, humiditySum: 90 });
    expect(m.devices.get("b")).toEqual({ ...emptyTally(), votes: 1, voteSum: 1 });
  });

  it("folds into rows loaded from storage (a later batch)", () => {
    const t = at("2024-03-10T12:00:00Z");
    const earlier = fold([{ deviceId: "a", occurredAt: t, vote: 1 }]);
    fold([{ deviceId: "b", occurredAt: t + 30_000, vote: 0 }], earlier);
    expect(earlier.minutes.get(t)!.tally).toMatchObject({ votes: 2, voteSum: 1 });
    expect(earlier.hours.get(t)!.devices).toEqual(new Set(["a", "b"]));
  });
});

describe("evolve: device state", () => {
  const t = at("2024-03-10T12:00:00Z");

  it("latest readings only move forward in occurredAt; each reading kind on its own", () => {
    const set = fold([
      { deviceId: "a", occurredAt: t, vote: 1, temperature: 20 },
      { deviceId: "a", occurredAt: t - 60_000, vote: 0, humidity: 55 }, // late: older vote ignored, first humidity kept
      { deviceId: "a", occurredAt: t + 60_000, temperature: 21 },
    ]);
    expect(set.devices.get("a")).toEqual({
      deviceId: "a",
      lastSeenAt: t + 60_000,
      vote: { value: 1, at: t },
      temperature: { value: 21, at: t + 60_000 },
      humidity: { value: 55, at: t - 60_000 },
    });
  });

  it("lastSeenAt never moves back; a tie in occurredAt goes to the later event", () => {
    const set = fold([
      { deviceId: "a", occurredAt: t, vote: 1 },
      { deviceId: "a", occurredAt: t, vote: 0 },
      { deviceId: "a", occurredAt: t - 1, vote: 0.5 },
    ]);
    expect(set.devices.get("a")).toMatchObject({ lastSeenAt: t, vote: { value: 0, at: t } });
  });

  it("a device without a reading of some kind reports null for it", () => {
    expect(fold([{ deviceId: "z", occurredAt: t, temperature: -5 }]).devices.get("z")).toEqual({
      deviceId: "z",
      lastSeenAt: t,
      vote: null,
      temperature: { value: -5, at: t },
      humidity: null,
    });
  });
});

describe("touchedKeys", () => {
  it("lists each minute, hour and device a batch touches once", () => {
    const t = at("2024-03-10T12:00:00Z");
    const keys = touchedKeys([
      { deviceId: "a", occurredAt: t + 1, vote: 1 },
      { deviceId: "a", occurredAt: t + 59_999, vote: 1 },
      { deviceId: "b", occurredAt: t + 60_000, vote: 1 },
      { deviceId: "a", occurredAt: t - 1, vote: 1 },
    ]);
    expect(keys.minutes.sort()).toEqual([t - 60_000, t, t + 60_000]);
    expect(keys.hours.sort()).toEqual([t - 3_600_000, t]);
    expect(keys.devices.sort()).toEqual(["a", "b"]);
  });
});

describe("evolve: order", () => {
  const fact: fc.Arbitrary<ReadingFact> = fc.record(
    {
      deviceId: fc.constantFrom("a", "b", "c"),
      // Distinct-enough instants over 3 hours, so ties are rare; ties are covered above.
      occurredAt: fc.integer({ min: 0, max: 3 * 3_600_000 }).map((ms) => at("2024-03-10T09:00:00Z") + ms),
      vote: fc.constantFrom(0 as const, 0.5 as const, 1 as const),
      temperature: fc.integer({ min: -100, max: 200 }),
      humidity: fc.integer({ min: 0, max: 100 }),
    },
    { requiredKeys: ["deviceId", "occurredAt"] },
  );

  it("bucket counts and device states do not depend on arrival order (integer readings, distinct instants)", () => {
    const permuted = fc
      .uniqueArray(fact, { selector: (f) => f.occurredAt, maxLength: 40 })
      .chain((facts) => fc.tuple(fc.constant(facts), fc.shuffledSubarray(facts, { minLength: facts.length })));
    const normal = (s: ProjectionSet) => ({
      minutes: [...s.minutes.values()].sort((x, y) => x.start - y.start).map((m) => ({ ...m, devices: [...m.devices].sort() })),
      hours: [...s.hours.values()].sort((x, y) => x.start - y.start).map((h) => ({ ...h, devices: [...h.devices].sort() })),
      devices: [...s.devices.values()].sort((x, y) => (x.deviceId < y.deviceId ? -1 : 1)),
    });
    fc.assert(
      fc.property(permuted, ([facts, shuffled]) => {
        expect(normal(fold(shuffled))).toEqual(normal(fold(facts)));
      }),
      { numRuns: 50 },
    );
  });
});
