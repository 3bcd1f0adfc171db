import type { FleetPublication } from "../../protocol";
import { fleetStub } from "../fleet";
import type { OpenLocation } from "./open-location";

/**
 * Hands a location's summary to the fleet view. The fleet keeps only the
 * newest summary per location, so calling this again (a retry, or an older
 * summary arriving late) is harmless; a rejection means it was not stored
 * and the caller should try again later.
 */
export async function publishSummary(env: Env, summary: FleetPublication): Promise<void> {
  await fleetStub(env).publish(summary);
}

/** What the location adds to its summary: its display name and, for the ranking, its votes per local day. */
export function calendarFields(open: OpenLocation, now: number): Pick<FleetPublication, "calendar" | "displayName"> {
  const { settings } = open.state.calendar;
  return { calendar: open.calendar.rankingDays(open.state, now), ...(settings.displayName !== undefined && { displayName: settings.displayName }) };
}
