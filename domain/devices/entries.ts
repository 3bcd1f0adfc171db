import type { DeviceProfile } from "../../protocol/devices";

/**
 * The registry's log entries as the decider sees them: typed data with
 * epoch-ms times. Every change to a device is one of these; the registry
 * object stores them in order and folds them (`evolve`) into the projection
 * of current devices. History, never an overwrite.
 */
interface Base {
  deviceId: string;
  at: number;
}

export type DeviceEntry =
  | (Base & { type: "device-registered"; profile: DeviceProfile })
  /** Name, expected interval or tags changed: only the fields that did. */
  | (Base & { type: "device-updated"; changes: Partial<Pick<DeviceProfile, "name" | "expectedIntervalSeconds" | "tags">> })
  /** Its events go to `to` from now on; those stored before stay at `from`. */
  | (Base & { type: "device-moved"; from: string; to: string })
  | (Base & { type: "device-disabled" })
  | (Base & { type: "device-enabled" })
  | (Base & { type: "device-removed" });

export type DeviceEntryType = DeviceEntry["type"];
