import type { FleetSummary } from "../../protocol";
import { fleetStub } from "../fleet";

/**
 * Hands a location's summary to the fleet view. The fleet keeps only the
 * newest summary per location, so calling this again (a retry, or an older
 * summary arriving late) is harmless; a rejection means it was not stored
 * and the caller should try again later.
 */
export async function publishSummary(env: Env, summary: FleetSummary): Promise<void> {
  await fleetStub(env).publish(summary);
}
