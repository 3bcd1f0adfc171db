import { WEEKDAYS, type LocationSettings, type OpeningHours as WireOpeningHours } from "../protocol/settings";
import { siteOf, type Site } from "./model";

const clock = (hour: number): string => `${String(hour).padStart(2, "0")}:00`;

/**
 * A simulated site's calendar as the worker takes it (PUT …/settings): its
 * time zone, opening hours and, when given, the local time of its daily
 * digest. The simulator numbers weekdays from Sunday (0), the API names them
 * from Monday; a closed day is left out.
 */
export function siteSettings(site: Site, digestAt?: string): LocationSettings {
  const openingHours: WireOpeningHours = {};
  WEEKDAYS.forEach((day, i) => {
    const hours = site.opening[(i + 1) % 7];
    if (hours) openingHours[day] = [[clock(hours[0]), clock(hours[1])]];
  });
  return { timeZone: site.timeZone, openingHours, ...(digestAt !== undefined && { digestAt }) };
}

/**
 * Gives each simulated location its site's settings, so its days and hours
 * are its own from the first view. Equal settings add nothing to the log, so
 * running this again is harmless.
 */
export async function putSiteSettings(apiUrl: string, adminToken: string, locations: readonly string[], digestAt?: string): Promise<void> {
  for (const location of locations) {
    const res = await fetch(new URL(`/api/v1/locations/${encodeURIComponent(location)}/settings`, apiUrl), {
      method: "PUT",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(siteSettings(siteOf(location), digestAt)),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`PUT settings of ${location}: HTTP ${res.status} ${await res.text()}`);
    await res.body?.cancel();
  }
}
