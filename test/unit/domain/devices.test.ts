import { describe, expect, it } from "vitest";
import type { DeviceProfile } from "../../../protocol/devices";
import { admit } from "../../../domain/devices/admit";
import { healthOf } from "../../../domain/devices/health";
import { decide, type DeviceInput } from "../../../domain/devices/decide";
import type { DeviceEntry } from "../../../domain/devices/entries";
import { evolve, type DeviceState } from "../../../domain/devices/state";

/**
 * The registry's decider, given/when/then: `given` folds a device's entries
 * with `evolve`, `when` runs `decide` at an instant, `then` compares the
 * entries it would append and the state they fold into.
 */
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const ID = "arduino1010";
const profile = (over: Partial<DeviceProfile> = {}): DeviceProfile => ({ name: "Lobby", location: "MTC", enabled: true, expectedIntervalSeconds: 60, tags: ["a", "b"], ...over });
const registered = (over: Partial<DeviceProfile> = {}, at = T0): DeviceEntry => ({ type: "device-registered", deviceId: ID, at, profile: profile(over) });
const put = (over: Partial<DeviceProfile> = {}): DeviceInput => ({ type: "put", deviceId: ID, profile: profile(over) });

const given = (...entries: DeviceEntry[]) => {
  const state = entries.reduce<DeviceState | null>(evolve, null);
  return {
    state,
    when: (input: DeviceInput, now = T0 + 1000) => {
      const decided = decide(state, input, now);
      return {
        then: (expected: DeviceEntry[], after?: DeviceState | null) => {
          expect(decided).toEqual(expected);
          if (after !== undefined) expect(decided.reduce<DeviceState | null>(evolve, state)).toEqual(after);
        },
      };
    },
  };
};

describe("the registry's decider", () => {
  it("given nothing, when a device is put, then it is registered with the whole profile", () => {
    given()
      .when(put(), T0)
      .then([registered()], { deviceId: ID, ...profile(), registeredAt: T0, updatedAt: T0 });
  });

  it("given a device, when the same profile is put (tags in another order), then nothing is logged", () => {
    given(registered()).when(put({ tags: ["b", "a"] })).then([]);
  });

  it("given a device, when name, interval and tags change, then one device-updated with only those fields", () => {
    given(registered())
      .when(put({ name: null, tags: ["c"] }))
      .then([{ type: "device-updated", deviceId: ID, at: T0 + 1000, changes: { name: null, tags: ["c"] } }]);
  });

  it("given a device, when it is moved and disabled at once, then device-moved then device-disabled", () => {
    const now = T0 + 1000;
    given(registered())
      .when(put({ location: "Paoli", enabled: false }), now)
      .then(
        [
          { type: "device-moved", deviceId: ID, at: now, from: "MTC", to: "Paoli" },
          { type: "device-disabled", deviceId: ID, at: now },
        ],
        { deviceId: ID, ...profile({ location: "Paoli", enabled: false }), registeredAt: T0, updatedAt: now },
      );
  });

  it("given a disabled device, when it is put enabled, then device-enabled", () => {
    given(registered({ enabled: false }))
      .when(put())
      .then([{ type: "device-enabled", deviceId: ID, at: T0 + 1000 }]);
  });

  it("given a device, when it is removed, then device-removed and no state; given nothing, removing logs nothing", () => {
    given(registered()).when({ type: "remove", deviceId: ID }).then([{ type: "device-removed", deviceId: ID, at: T0 + 1000 }], null);
    given().when({ type: "remove", deviceId: ID }).then([]);
  });

  it("given a removed device, when it is put again, then it is registered afresh", () => {
    const removed: DeviceEntry = { type: "device-removed", deviceId: ID, at: T0 + 1 };
    given(registered(), removed)
      .when(put({ location: "Malvern" }), T0 + 5)
      .then([registered({ location: "Malvern" }, T0 + 5)], { deviceId: ID, ...profile({ location: "Malvern" }), registeredAt: T0 + 5, updatedAt: T0 + 5 });
  });

  it("entries for a device not registered change nothing when replayed", () => {
    expect(evolve(null, { type: "device-enabled", deviceId: ID, at: T0 })).toBeNull();
    expect(evolve(null, { type: "device-moved", deviceId: ID, at: T0, from: "a", to: "b" })).toBeNull();
  });
});

describe("admission at ingest", () => {
  it("a registered, enabled device's events go to its registered location, whatever they claim", () => {
    expect(admit({ location: "MTC", enabled: true }, ID, "Paoli", "open")).toEqual({ ok: true, location: "MTC" });
    expect(admit({ location: "MTC", enabled: true }, ID, "Paoli", "registered")).toEqual({ ok: true, location: "MTC" });
  });

  it("a disabled device's events are refused and counted, under either policy", () => {
    for (const policy of ["open", "registered"] as const) {
      expect(admit({ location: "MTC", enabled: false }, ID, "MTC", policy)).toEqual({ ok: false, error: 'device "arduino1010" is disabled', counted: true });
    }
  });

  it("an unknown device goes where it claims under open, and is refused (not counted) under registered", () => {
    expect(admit(undefined, ID, "Paoli", "open")).toEqual({ ok: true, location: "Paoli" });
    expect(admit(undefined, ID, "Paoli", "registered")).toEqual({ ok: false, error: 'device "arduino1010" is not registered', counted: false });
  });
});

describe("health from the expected interval", () => {
  const now = T0;
  it.each([
    ["silent 0 s", now, 60, "online"],
    ["silent exactly 1×", now - 60_000, 60, "online"],
    ["silent just over 1×", now - 60_001, 60, "late"],
    ["silent exactly 3×", now - 180_000, 60, "late"],
    ["silent just over 3×", now - 180_001, 60, "offline"],
    ["never heard", null, 60, "offline"],
    ["no interval", now - 1e9, null, null],
  ] as const)("%s → %s", (_, lastSeenAt, interval, expected) => {
    expect(healthOf(lastSeenAt, interval, now)).toBe(expected);
  });
});
