/** Geometry for the hourly charts: small pure functions, drawn as SVG by HourlyChart.svelte. */

export type Domain = readonly [number, number];
export type Point = { x: number; y: number };

/** Maps `domain` onto `range` linearly; a degenerate domain maps to the middle of the range. */
export function scale(domain: Domain, range: Domain): (value: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (value) => r0 + ((value - d0) / (d1 - d0)) * (r1 - r0);
}

/**
 * A domain around the values, widened to at least `minSpan` and out to whole
 * `step`s so the axis labels are round, kept inside `clamp`. null when there
 * is no value at all.
 */
export function domainOf(values: readonly (number | null)[], minSpan: number, step: number, clamp?: Domain): Domain | null {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return null;
  let lo = Math.min(...present);
  let hi = Math.max(...present);
  if (hi - lo < minSpan) {
    const mid = (lo + hi) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  if (clamp) {
    lo = Math.max(clamp[0], lo);
    hi = Math.min(clamp[1], hi);
  }
  return [lo, hi];
}

/** Runs of consecutive hours with a value: a line is drawn through each run and broken where data is missing. */
export function runs(values: readonly (number | null)[]): { index: number; value: number }[][] {
  const result: { index: number; value: number }[][] = [];
  let current: { index: number; value: number }[] = [];
  values.forEach((value, index) => {
    if (value === null) {
      if (current.length > 0) result.push(current);
      current = [];
    } else current.push({ index, value });
  });
  if (current.length > 0) result.push(current);
  return result;
}

/** An SVG path through points, rounded to tenths of a pixel to keep the markup small. */
export const pathThrough = (points: readonly Point[]): string =>
  points.map((p, i) => `${i === 0 ? "M" : "L"}${round(p.x)} ${round(p.y)}`).join("");

const round = (n: number): number => Math.round(n * 10) / 10;
