import { describe, expect, it } from "vitest";
import { LEASE_MS, forwardRetryMs, handOut, leaseEnd } from "../../../domain/command-hub";

describe("the commands hub's hand-out policy", () => {
  const now = 1_000_000;
  it("sends new commands, and those after the bridge's cursor", () => {
    expect(handOut({ seq: 3, sentTo: null, sentAt: null }, "a", 0, now)).toBe("send");
    expect(handOut({ seq: 3, sentTo: "a", sentAt: now - 10 }, "a", 2, now)).toBe("send");
  });

  it("skips what this bridge recorded (at or before its cursor): it reports those itself", () => {
    expect(handOut({ seq: 3, sentTo: "a", sentAt: now - 10 }, "a", 3, now)).toBe("skip");
    expect(handOut({ seq: 2, sentTo: "a", sentAt: now - 10 * LEASE_MS }, "a", 3, now)).toBe("skip");
  });

  it("holds a command handed to another bridge while its lease runs, then sends it", () => {
    expect(handOut({ seq: 3, sentTo: "b", sentAt: now - LEASE_MS + 1 }, "a", 0, now)).toBe("held");
    expect(handOut({ seq: 3, sentTo: "b", sentAt: now - LEASE_MS }, "a", 0, now)).toBe("send");
    expect(handOut({ seq: 3, sentTo: "b", sentAt: now - LEASE_MS }, "a", 9, now), "whatever the new bridge's cursor").toBe("send");
  });

  it("wakes at the first lease's end; backs off forwarding from 1 s to 5 min", () => {
    expect(leaseEnd([])).toBeNull();
    expect(leaseEnd([{ seq: 1, sentTo: "b", sentAt: 500 }, { seq: 2, sentTo: "b", sentAt: 200 }])).toBe(200 + LEASE_MS);
    expect([0, 1, 2, 8, 9, 50].map(forwardRetryMs)).toEqual([1_000, 2_000, 4_000, 256_000, 300_000, 300_000]);
  });
});
