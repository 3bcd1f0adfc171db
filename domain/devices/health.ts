import { HEALTH_THRESHOLDS, type DeviceHealth } from "../../protocol/device-health";

/**
 * A device's health at `now` (see protocol/devices.ts): from when it was last
 * heard (null: never) and its expected interval (null: none, so no health).
 * Pure. Silent exactly 1× the interval is still online; exactly 3× still late.
 */
export function healthOf(lastSeenAt: number | null, expectedIntervalSeconds: number | null, now: number): DeviceHealth | null {
  if (expectedIntervalSeconds === null) return null;
  if (lastSeenAt === null) return "offline";
  const silentMs = now - lastSeenAt;
  const intervalMs = expectedIntervalSeconds * 1000;
  if (silentMs > HEALTH_THRESHOLDS.offline * intervalMs) return "offline";
  if (silentMs > HEALTH_THRESHOLDS.late * intervalMs) return "late";
  return "online";
}
