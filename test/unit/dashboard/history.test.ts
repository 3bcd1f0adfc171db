import { afterEach, describe, expect, it, vi } from "vitest";
import { historyRange } from "../../../dashboard/src/lib/history";
import { throttle } from "../../../dashboard/src/lib/throttle";
import { liveUrl, locationPath } from "../../../dashboard/src/lib/api";

describe("hourly history range", () => {
  it("covers whole hours ending with the current one", () => {
    const now = Date.parse("2026-03-02T14:25:00Z");
    expect(historyRange(now, 24)).toEqual({ from: Date.parse("2026-03-01T15:00:00Z"), to: Date.parse("2026-03-02T15:00:00Z") });
    expect(historyRange(Date.parse("2026-03-02T14:00:00Z"), 1)).toEqual({
      from: Date.parse("2026-03-02T14:00:00Z"),
      to: Date.parse("2026-03-02T15:00:00Z"),
    });
  });
});

describe("API addresses", () => {
  it("encode the location and follow the page's scheme for the socket", () => {
    expect(locationPath("Main Hall")).toBe("/api/v1/locations/Main%20Hall");
    expect(liveUrl({ protocol: "http:", host: "127.0.0.1:8787" }, "MTC", null)).toBe("ws://127.0.0.1:8787/api/v1/locations/MTC/live");
    expect(liveUrl({ protocol: "https:", host: "hub.example" }, "Main Hall", 42)).toBe(
      "wss://hub.example/api/v1/locations/Main%20Hall/live?since=42",
    );
    expect(liveUrl({ protocol: "https:", host: "hub.example" }, "MTC", 0)).toBe("wss://hub.example/api/v1/locations/MTC/live?since=0");
  });
});

describe("throttle", () => {
  afterEach(() => vi.useRealTimers());

  it("folds a burst into one run after the interval, then runs again for a later burst", () => {
    vi.useFakeTimers();
    let runs = 0;
    const soon = throttle(() => runs++, 3_000);
    for (let i = 0; i < 10; i++) soon();
    vi.advanceTimersByTime(2_999);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1);
    soon();
    vi.advanceTimersByTime(3_000);
    expect(runs).toBe(2);
  });
});
