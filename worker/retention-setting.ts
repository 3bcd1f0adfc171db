import { retentionMs } from "../domain/location/retention";
import { ApiError } from "./errors";

/**
 * RETENTION_DAYS set to anything but a positive number is a deployment
 * mistake: every call that reaches a location answers 503 saying what is
 * wrong, before anything is stored (the location's object refuses it too),
 * rather than keeping or dropping readings by a guess.
 */
export function requireValidRetention(env: Env): void {
  try {
    retentionMs(env.RETENTION_DAYS);
  } catch (e) {
    throw new ApiError(503, "RETENTION_DAYS is invalid", [(e as Error).message]);
  }
}
