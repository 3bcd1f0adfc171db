import type { DeviceProfile } from "../../protocol/devices";
import type { DeviceEntry } from "./entries";
import type { DeviceState } from "./state";

/** Everything an admin can do to one device. */
export type DeviceInput =
  /** PUT: the complete profile (validated at the edge; optional fields left out are null / empty). */
  | { type: "put"; deviceId: string; profile: DeviceProfile }
  /** DELETE. */
  | { type: "remove"; deviceId: string };

/**
 * The registry's decider for one device: the entries `input` adds to the log
 * at `now`, given the device's current state. Pure.
 *
 * - put on an unregistered device: `device-registered` with the whole profile;
 * - put on a registered one: one entry per kind of change, in this order:
 *   `device-updated` (name, interval, tags), `device-moved`, then
 *   `device-disabled` / `device-enabled`; the same profile again adds nothing;
 * - remove: `device-removed`, or nothing when it is not registered.
 */
export function decide(state: DeviceState | null, input: DeviceInput, now: number): DeviceEntry[] {
  const { deviceId } = input;
  if (input.type === "remove") return state === null ? [] : [{ type: "device-removed", deviceId, at: now }];
  const next = input.profile;
  if (state === null) return [{ type: "device-registered", deviceId, at: now, profile: next }];
  const out: DeviceEntry[] = [];
  const changes: Extract<DeviceEntry, { type: "device-updated" }>["changes"] = {};
  if (state.name !== next.name) changes.name = next.name;
  if (state.expectedIntervalSeconds !== next.expectedIntervalSeconds) changes.expectedIntervalSeconds = next.expectedIntervalSeconds;
  if (!sameTags(state.tags, next.tags)) changes.tags = next.tags;
  if (Object.keys(changes).length > 0) out.push({ type: "device-updated", deviceId, at: now, changes });
  if (state.location !== next.location) out.push({ type: "device-moved", deviceId, at: now, from: state.location, to: next.location });
  if (state.enabled !== next.enabled) out.push({ type: next.enabled ? "device-enabled" : "device-disabled", deviceId, at: now });
  return out;
}

/** Tags are a set: the same tags in another order are no change. */
const sameTags = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((t) => b.includes(t));
