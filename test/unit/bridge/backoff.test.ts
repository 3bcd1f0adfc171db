import { describe, expect, it } from "vitest";
import { backoffDelay, parseRetryAfter, sleep } from "../../../bridge/backoff";

describe("backoff", () => {
  const opts = { minMs: 100, maxMs: 5_000 };

  it("doubles the cap per attempt up to the maximum, with the wait in [cap/2, cap]", () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, opts, () => 1))).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, opts, () => 0))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(50, opts, () => 1)).toBe(5_000);
    expect(backoffDelay(10_000, opts, () => 0.5)).toBe(3_750);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    expect(parseRetryAfter("3", now)).toBe(3_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 7_000).toUTCString(), now)).toBe(7_000);
    expect(parseRetryAfter(new Date(now - 7_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("sleep ends early when aborted", async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 10);
    await sleep(10_000, controller.signal);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
