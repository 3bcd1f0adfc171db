import { describe, expect, it } from "vitest";
import { DEFAULT_BACKOFF, backoffDelay } from "../../../dashboard/src/lib/backoff";

describe("reconnect backoff", () => {
  it("doubles per attempt up to the cap, with half of each delay random", () => {
    const options = { baseMs: 500, maxMs: 30_000 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 0, options))).toEqual([250, 500, 1_000, 2_000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 0.999_999, options))).toEqual([500, 1_000, 2_000, 4_000]);
    expect(backoffDelay(50, 0, options)).toBe(15_000);
    expect(backoffDelay(50, 0.999_999, options)).toBe(30_000);
  });

  it("never retries in a tight loop nor waits past the cap", () => {
    for (let attempt = 1; attempt < 40; attempt++) {
      for (const random of [0, 0.25, 0.5, 0.99]) {
        const delay = backoffDelay(attempt, random);
        expect(delay).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.baseMs / 2);
        expect(delay).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
      }
    }
  });

  it("spreads clients that lost the server together", () => {
    const delays = new Set([0, 0.2, 0.4, 0.6, 0.8].map((random) => backoffDelay(5, random)));
    expect(delays.size).toBe(5);
  });
});
