import type { FleetSummary } from "../../protocol";
import { localDay } from "../../domain/calendar/series";
import { dayStartUtc } from "../../domain/calendar/zone";
import { fleetStub } from "../fleet";
import type { OpenLocation } from "./open-location";

/**
 * Hands a location's summary to the fleet view. The fleet keeps only the
 * newest summary per location, so calling this again (a retry, or an older
 * summary arriving late) is harmless; a rejection means it was not stored
 * and the caller should try again later.
 */
export async function publishSummary(env: Env, summary: FleetSummary): Promise<void> {
  await fleetStub(env).publish(summary);
}

/**
 * What the location adds to its summary for the ranking: its periods in its
 * own calendar and its display name; and its next local midnight, when the
 * periods move on and the summary must be published again.
 */
export function calendarSummary(open: OpenLocation, now: number): { fields: Pick<FleetSummary, "periods" | "displayName">; dayEndsAt: number } {
  const { settings } = open.state.calendar;
  return {
    fields: { periods: open.calendar.periods(open.state, now), ...(settings.displayName !== undefined && { displayName: settings.displayName }) },
    dayEndsAt: dayStartUtc(settings.timeZone, localDay(settings, now) + 1),
  };
}
