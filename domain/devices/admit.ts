import { isDisabled, notRegistered, type DeviceEnrollment } from "../../protocol/devices";

/** What ingest needs of a registered device: where its events go and whether it may send. */
export interface DeviceRoute {
  location: string;
  enabled: boolean;
}

export type Admission =
  | { ok: true; location: string }
  /** `counted`: the refusal is counted on the device's registry row (registered devices only, so unknown ids create nothing). */
  | { ok: false; error: string; counted: boolean };

/**
 * Where one event of `deviceId` goes, or why it is refused. Pure.
 *
 * - a registered device's events go to its registered location, whatever the
 *   message claims (`claimed`); a disabled one's are refused and counted;
 * - an unknown device's go where the message claims under `open` enrollment,
 *   and are refused under `registered`.
 */
export function admit(route: DeviceRoute | undefined, deviceId: string, claimed: string, enrollment: DeviceEnrollment): Admission {
  if (route === undefined) return enrollment === "open" ? { ok: true, location: claimed } : { ok: false, error: notRegistered(deviceId), counted: false };
  if (!route.enabled) return { ok: false, error: isDisabled(deviceId), counted: true };
  return { ok: true, location: route.location };
}
