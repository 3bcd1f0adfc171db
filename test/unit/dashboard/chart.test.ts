import { describe, expect, it } from "vitest";
import { domainOf, pathThrough, runs, scale } from "../../../dashboard/src/lib/chart";

describe("chart geometry", () => {
  it("maps a domain onto pixels, upside down for a y axis", () => {
    const y = scale([0, 1], [100, 20]);
    expect(y(0)).toBe(100);
    expect(y(1)).toBe(20);
    expect(y(0.5)).toBe(60);
    expect(scale([5, 5], [0, 10])(5)).toBe(5); // one value: the middle, not NaN
  });

  it("fits a round domain around the data, at least minSpan wide, within a clamp", () => {
    expect(domainOf([21.3, null, 22.9], 4, 2)).toEqual([20, 26]); // widened to 20.1–24.1, then out to even degrees
    expect(domainOf([18.1, 27.5], 4, 2)).toEqual([18, 28]);
    expect(domainOf([50], 10, 5)).toEqual([45, 55]);
    expect(domainOf([2, 98], 10, 5, [0, 100])).toEqual([0, 100]);
    expect(domainOf([99], 10, 5, [0, 100])).toEqual([90, 100]);
    expect(domainOf([null, null], 4, 2)).toBeNull();
    expect(domainOf([], 4, 2)).toBeNull();
  });

  it("breaks lines where hours have no data", () => {
    expect(runs([1, 2, null, null, 3, null, 4, 5])).toEqual([
      [
        { index: 0, value: 1 },
        { index: 1, value: 2 },
      ],
      [{ index: 4, value: 3 }],
      [
        { index: 6, value: 4 },
        { index: 7, value: 5 },
      ],
    ]);
    expect(runs([null, null])).toEqual([]);
    expect(runs([0])).toEqual([[{ index: 0, value: 0 }]]); // zero is a value, not a gap
  });

  it("writes compact SVG paths", () => {
    expect(pathThrough([{ x: 1, y: 2 }, { x: 3.14159, y: 4.05 }])).toBe("M1 2L3.1 4.1");
    expect(pathThrough([])).toBe("");
  });
});
