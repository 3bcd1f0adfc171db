import { z } from "zod";
import { deviceId, locationName } from "./ids";

/**
 * The device registry (issue 10): what an admin sends to register, change or
 * move a device, and what the registry answers. One definition, used by the
 * worker's routes, the registry object, the CLI and the OpenAPI document.
 */

/**
 * `DEVICE_ENROLLMENT`: `open` (the default) lets a device the registry does not
 * know send events to the location its message names, as before the registry;
 * `registered` rejects every event of such a device.
 */
export const DEVICE_ENROLLMENT = ["open", "registered"] as const;
export const deviceEnrollment = z.enum(DEVICE_ENROLLMENT);
export type DeviceEnrollment = z.infer<typeof deviceEnrollment>;

/** Expected silence between two messages of a device: 1 s to 7 days. */
export const EXPECTED_INTERVAL = { min: 1, max: 7 * 24 * 3600 } as const;
export const DEVICE_TAGS = { max: 32, maxLength: 64 } as const;

/**
 * `PUT /api/v1/devices/{deviceId}`: the device's complete profile (a PUT
 * replaces: an optional field left out is cleared). `deviceId`, when sent,
 * must be the one in the path. Unknown fields are an error.
 */
export const deviceBody = z.strictObject({
  deviceId: deviceId.optional(),
  name: z.string().trim().min(1, "name must not be empty").max(128, "name must be at most 128 characters").optional(),
  location: locationName,
  enabled: z.boolean({ error: (issue) => (issue.input === undefined ? "enabled is required" : "enabled must be true or false") }),
  expectedIntervalSeconds: z
    .number({ error: "expectedIntervalSeconds must be a number of seconds" })
    .int("expectedIntervalSeconds must be a whole number of seconds")
    .min(EXPECTED_INTERVAL.min, `expectedIntervalSeconds must be at least ${EXPECTED_INTERVAL.min}`)
    .max(EXPECTED_INTERVAL.max, `expectedIntervalSeconds must be at most ${EXPECTED_INTERVAL.max} (7 days)`)
    .optional(),
  tags: z
    .array(
      z.string().min(1, "a tag must not be empty").max(DEVICE_TAGS.maxLength, `a tag is at most ${DEVICE_TAGS.maxLength} characters`),
      { error: "tags must be an array of strings" },
    )
    .max(DEVICE_TAGS.max, `at most ${DEVICE_TAGS.max} tags`)
    .refine((tags) => new Set(tags).size === tags.length, { error: "tags must not repeat" })
    .optional(),
});
export type DeviceBody = z.infer<typeof deviceBody>;

/** A device's profile as the registry holds it (the fields a PUT sets). */
export const deviceProfile = z.object({
  name: z.string().nullable(),
  location: locationName,
  enabled: z.boolean(),
  expectedIntervalSeconds: z.number().int().nullable(),
  tags: z.array(z.string()),
});
export type DeviceProfile = z.infer<typeof deviceProfile>;

/** One registered device: its profile, when it was registered and last changed, and its refused events. */
export const registeredDevice = deviceProfile.extend({
  deviceId,
  registeredAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Events refused because the device was disabled (counted at ingest, written coalesced). */
  rejected: z.number().int().nonnegative(),
});
export type RegisteredDevice = z.infer<typeof registeredDevice>;

/** `GET /api/v1/devices?location=&cursor=&limit=`: limit 1–500, like the locations list. */
export const DEVICES_PAGE = { defaultLimit: 100, maxLimit: 500 } as const;

/** A page of registered devices in device id order; `next` is the opaque cursor of the following page. */
export const registeredDevicesResponse = z.object({
  devices: z.array(registeredDevice),
  next: z.string().min(1).nullable(),
});
export type RegisteredDevicesResponse = z.infer<typeof registeredDevicesResponse>;

/** The kinds of entry in the registry's log. */
export const DEVICE_CHANGE_TYPES = ["device-registered", "device-updated", "device-moved", "device-disabled", "device-enabled", "device-removed"] as const;

/** One entry of a device's history (`GET /api/v1/devices/{deviceId}/history`). */
export const deviceChange = z.object({
  /** Position in the registry's log (shared by every device). */
  seq: z.number().int().positive(),
  type: z.enum(DEVICE_CHANGE_TYPES),
  at: z.iso.datetime(),
  /** device-registered: the profile; device-updated: the fields that changed; device-moved: from and to. */
  profile: deviceProfile.optional(),
  changes: deviceProfile.partial().optional(),
  from: locationName.optional(),
  to: locationName.optional(),
});
export type DeviceChange = z.infer<typeof deviceChange>;

export const deviceHistoryResponse = z.object({ deviceId, history: z.array(deviceChange) });
export type DeviceHistoryResponse = z.infer<typeof deviceHistoryResponse>;

/** Per-event rejection messages at ingest (listed in the ingest response's `rejected`). */
export const notRegistered = (id: string): string => `device "${id}" is not registered`;
export const isDisabled = (id: string): string => `device "${id}" is disabled`;

