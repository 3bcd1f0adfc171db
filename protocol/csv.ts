/**
 * Numbers and fields as the dashboard's CSV writes them, shared with the
 * export route so a downloaded file and an export carry the same figures.
 */

export type TemperatureUnit = "C" | "F";

/** Temperatures travel in °C; a viewer may prefer °F (the original device's unit). */
export const fromCelsius = (celsius: number, unit: TemperatureUnit): number => (unit === "C" ? celsius : celsius * 1.8 + 32);

/** A number without binary float noise (°F conversion gives 70.52000000000001): 12 significant digits. */
export const csvNumber = (value: number): number => Number(value.toPrecision(12));

/** A CSV field: numbers via `csvNumber`, empty for null, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = typeof value === "number" ? String(csvNumber(value)) : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line, CRLF-terminated. */
export const csvLine = (fields: readonly (string | number | null)[]): string => fields.map(csvField).join(",") + "\r\n";
