import { describe, expect, it } from "vitest";
import { addReadings, addTally, emptyTally, packTally, summarize, unpackTally, type Tally } from "../../../domain/tally";

const tallyOf = (...readings: Parameters<typeof addReadings>[1][]): Tally => {
  const t = emptyTally();
  for (const r of readings) addReadings(t, r);
  return t;
};

describe("tally", () => {
  it("counts only the readings an event carries; a sad vote (0) is a vote", () => {
    expect(tallyOf({ vote: 0 }, { temperature: 21.5 }, { humidity: 40, vote: 1 })).toEqual({
      votes: 2,
      voteSum: 1,
      temperatureCount: 1,
      temperatureSum: 21.5,
      humidityCount: 1,
      humiditySum: 40,
      sad: 1,
    });
    expect(tallyOf({})).toEqual(emptyTally());
  });

  it("adding tallies equals tallying all the events", () => {
    const a = tallyOf({ vote: 1, temperature: 20 }, { vote: 0.5 });
    const b = tallyOf({ vote: 0, humidity: 55 }, { temperature: 24 });
    addTally(a, b);
    expect(a).toEqual(tallyOf({ vote: 1, temperature: 20 }, { vote: 0.5 }, { vote: 0, humidity: 55 }, { temperature: 24 }));
  });

  it("packs and unpacks without loss, in a fixed order", () => {
    const t = tallyOf({ vote: 0.5, temperature: -3.25, humidity: 99.9 });
    expect(packTally(t)).toEqual([1, 0.5, 1, -3.25, 1, 99.9, 0]);
    expect(unpackTally(packTally(t))).toEqual(t);
    const sad = tallyOf({ vote: 0 }, { vote: 0 }, { vote: 1 });
    expect(packTally(sad)).toEqual([3, 1, 0, 0, 0, 0, 2]);
    expect(unpackTally(packTally(sad))).toEqual(sad);
  });

  it("reads a cell packed before sad votes were counted (six numbers) as none sad", () => {
    expect(unpackTally([2, 1, 0, 0, 0, 0])).toEqual({ ...emptyTally(), votes: 2, voteSum: 1, sad: 0 });
  });
});

describe("summarize", () => {
  it("score is sum/count, unrounded: 1 and 0.5 → 0.75; 1, 1, 0.5 → 0.8333…", () => {
    expect(summarize(tallyOf({ vote: 1 }, { vote: 0.5 }), 1).score).toBe(0.75);
    expect(summarize(tallyOf({ vote: 1 }, { vote: 1 }, { vote: 0.5 }), 2).score).toBe(2.5 / 3);
    // The original dashboard rounded the sum first: round(2.5)/3 = 1 — not what we do.
    expect(summarize(tallyOf({ vote: 1 }, { vote: 1 }, { vote: 0.5 }), 2).score).not.toBe(1);
  });

  it("averages temperature and humidity over the events that carry them", () => {
    const s = summarize(tallyOf({ vote: 1, temperature: 20 }, { temperature: 23 }, { humidity: 30 }, { vote: 0 }), 3);
    expect(s).toEqual({ votes: 2, score: 0.5, devices: 3, temperature: 21.5, humidity: 30 });
  });

  it("nulls with nothing to divide; devices passed through", () => {
    expect(summarize(emptyTally(), 0)).toEqual({ votes: 0, score: null, devices: 0, temperature: null, humidity: null });
    expect(summarize(tallyOf({ temperature: 5 }), 4)).toEqual({ votes: 0, score: null, devices: 4, temperature: 5, humidity: null });
  });

  it("all sad votes score 0, not null", () => {
    expect(summarize(tallyOf({ vote: 0 }, { vote: 0 }), 1).score).toBe(0);
  });
});
