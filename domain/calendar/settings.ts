import type { LocationSettings } from "../../protocol/settings";
import type { Draft } from "../location/entries";
import type { CalendarState } from "./quarters";

/**
 * The decider's answer to PUT …/settings: one `settings-set` entry. Settings
 * equal to those in force add nothing, so repeating a PUT (a retry, the demo's
 * start script on every run) leaves the log as it was.
 */
export function settingsDrafts(calendar: CalendarState, settings: LocationSettings, now: number): Draft[] {
  if (calendar.settingsSeq !== null && sameSettings(calendar.settings, settings)) return [];
  return [{ type: "settings-set", settings, occurredAt: now }];
}

/** Settings compare by value; key order and the order of a day's spans do not matter. */
export function sameSettings(a: LocationSettings, b: LocationSettings): boolean {
  return canonical(a) === canonical(b);
}

function canonical(s: LocationSettings): string {
  const hours = s.openingHours
    ? Object.fromEntries(
        Object.entries(s.openingHours)
          .filter(([, spans]) => spans !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([day, spans]) => [day, [...spans!].sort((x, y) => (x[0] < y[0] ? -1 : 1))]),
      )
    : null;
  return JSON.stringify([s.timeZone, hours, s.displayName ?? null, s.digestAt ?? null]);
}
