import { z } from "zod";
import { locationName } from "./ids";

/**
 * How a location's devices list (protocol/read.ts) shows the registry's word
 * on a device. Its own module, apart from protocol/devices.ts: the dashboard
 * reads these and should not carry the registry's admin schemas.
 *
 * A device's health from its expected interval and how long it has been
 * silent (by the `occurredAt` of its latest event): `online` while silent for
 * at most 1× the interval, `late` beyond that up to 3×, `offline` beyond 3×
 * (or never heard). Devices without an expected interval have none (null).
 */
export const DEVICE_HEALTH = ["online", "late", "offline"] as const;
export const deviceHealth = z.enum(DEVICE_HEALTH);
export type DeviceHealth = z.infer<typeof deviceHealth>;
export const HEALTH_THRESHOLDS = { late: 1, offline: 3 } as const;

/** What the registry says of a device, in a location's devices list (read access: no tags). */
export const deviceRegistration = z.object({
  name: z.string().nullable(),
  /** Where the registry sends its events now (a moved device is still listed where it was heard). */
  location: locationName,
  enabled: z.boolean(),
  expectedIntervalSeconds: z.number().int().nullable(),
  rejected: z.number().int().nonnegative(),
});
export type DeviceRegistration = z.infer<typeof deviceRegistration>;
