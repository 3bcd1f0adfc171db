import { z } from "zod";
import { deviceProfileUpdate, type DeviceProfileUpdate } from "../../protocol/device-profiles";
import { formatIssues } from "../../protocol/issues";

/** At most this many profiles per push (the registry sends them in batches of this size). */
export const PROFILES_PER_PUSH = 500;

const pushed = z.array(deviceProfileUpdate).max(PROFILES_PER_PUSH, `at most ${PROFILES_PER_PUSH} profiles per push`);

/** The RPC boundary of a profile push: what is logged must be what the contract allows, so a bad push is refused whole. */
export function acceptProfiles(profiles: unknown): DeviceProfileUpdate[] {
  const parsed = pushed.safeParse(profiles);
  if (!parsed.success) throw new TypeError(`invalid device profiles: ${formatIssues(parsed.error).join("; ")}`);
  return parsed.data;
}
