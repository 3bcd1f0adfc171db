import type { DeviceProfile } from "../../protocol/devices";
import type { DeviceEntry } from "./entries";

/** One device as the registry knows it now; null when it is not registered (never was, or removed). */
export interface DeviceState extends DeviceProfile {
  deviceId: string;
  registeredAt: number;
  updatedAt: number;
}

/**
 * Applies one entry to a device's state. Pure: returns a new state. Entries
 * for a device that is not registered (other than its registration) change
 * nothing, so replaying any log gives the same projection.
 */
export function evolve(state: DeviceState | null, entry: DeviceEntry): DeviceState | null {
  if (entry.type === "device-registered") return { deviceId: entry.deviceId, ...entry.profile, registeredAt: entry.at, updatedAt: entry.at };
  if (state === null) return null;
  switch (entry.type) {
    case "device-updated":
      return { ...state, ...entry.changes, updatedAt: entry.at };
    case "device-moved":
      return { ...state, location: entry.to, updatedAt: entry.at };
    case "device-disabled":
      return { ...state, enabled: false, updatedAt: entry.at };
    case "device-enabled":
      return { ...state, enabled: true, updatedAt: entry.at };
    case "device-removed":
      return null;
  }
}
