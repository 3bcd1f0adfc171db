import type { HourSummary } from "../../../protocol";
import { csvLine } from "../../../protocol/csv";
import { fromCelsius, type TemperatureUnit } from "./units";

/**
 * The hourly history as CSV, one row per hour, oldest first. Numbers stay
 * unrounded (it is data, not display); temperature in the unit the viewer
 * chose, named in the header; empty cells where an hour had no reading.
 */
export function hourlyCsv(hours: HourSummary[], unit: TemperatureUnit): string {
  const header = ["hour_utc", "votes", "score", "devices", `temperature_${unit === "C" ? "c" : "f"}`, "humidity_pct"];
  const rows = hours.map((h) => [
    h.hour,
    h.votes,
    h.score,
    h.devices,
    h.temperature === null ? null : fromCelsius(h.temperature, unit),
    h.humidity,
  ]);
  // Fields as protocol/csv.ts writes them: the export route (…/export) writes the same numbers.
  return [header, ...rows].map(csvLine).join("");
}

/** A file name that sorts by date and survives any file system. */
export const csvFileName = (location: string, from: string): string =>
  `happy-hub-${location.replace(/[^\p{L}\p{N}_.-]+/gu, "_")}-hourly-${from.slice(0, 13)}h.csv`;
