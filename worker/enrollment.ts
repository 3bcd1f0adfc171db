import { DEVICE_ENROLLMENT, deviceEnrollment, type DeviceEnrollment } from "../protocol/devices";
import { ApiError } from "./errors";

/**
 * The enrollment policy from `DEVICE_ENROLLMENT` (unset: `open`). A value that
 * is neither is a deployment mistake: ingest answers 503 and says so, rather
 * than guess whether unknown devices were meant to be let in.
 */
export function enrollmentPolicy(env: Env): DeviceEnrollment {
  const value = env.DEVICE_ENROLLMENT?.trim() || "open";
  const parsed = deviceEnrollment.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ApiError(503, "DEVICE_ENROLLMENT is invalid", [
    `DEVICE_ENROLLMENT is ${JSON.stringify(env.DEVICE_ENROLLMENT)}; set it to one of ${DEVICE_ENROLLMENT.map((v) => `"${v}"`).join(", ")} (or leave it unset for "open") in wrangler.toml [vars]`,
  ]);
}
