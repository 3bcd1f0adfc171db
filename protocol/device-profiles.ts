import { z } from "zod";
import { deviceId } from "./ids";

/**
 * What a location knows of a device registered there (issue 10): the part of
 * the registry's profile its own rules need. The registry pushes it to the
 * location on every change (durable-objects/registry/profile-push.ts); the
 * location logs it as a `device-profiles-set` entry, so an "offline" rule
 * (protocol/actions.ts) is judged by the location's own alarm.
 */
export const locationDeviceProfile = z.object({
  name: z.string().nullable(),
  /** Expected silence between two messages; null: none, so the device is never judged offline. */
  expectedIntervalSeconds: z.number().int().positive().nullable(),
  enabled: z.boolean(),
});
export type LocationDeviceProfile = z.infer<typeof locationDeviceProfile>;

/** One device's profile at a location; `profile: null`: no longer registered here (moved away or removed). */
export const deviceProfileUpdate = z.object({
  deviceId,
  profile: locationDeviceProfile.nullable(),
});
export type DeviceProfileUpdate = z.infer<typeof deviceProfileUpdate>;
