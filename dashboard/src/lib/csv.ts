import type { HourSummary } from "../../../protocol";
import { fromCelsius, type TemperatureUnit } from "./units";

/**
 * A CSV field: quoted when it holds a comma, quote or line break (RFC 4180).
 * Numbers lose only binary float noise (°F conversion gives 70.52000000000001).
 */
function field(value: string | number | null): string {
  if (value === null) return "";
  const text = typeof value === "number" ? String(Number(value.toPrecision(12))) : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

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
  return [header, ...rows].map((row) => row.map(field).join(",")).join("\r\n") + "\r\n";
}

/** A file name that sorts by date and survives any file system. */
export const csvFileName = (location: string, from: string): string =>
  `happy-hub-${location.replace(/[^\p{L}\p{N}_.-]+/gu, "_")}-hourly-${from.slice(0, 13)}h.csv`;
