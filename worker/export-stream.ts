import { csvLine, csvNumber, fromCelsius, type TemperatureUnit } from "../protocol/csv";
import { localIso } from "../domain/calendar/zone";
import type { ReadingEntry } from "../domain/location/entries";
import { isoString } from "../protocol/time";
import { EXPORT_PAGE_ENTRIES } from "../durable-objects/location/export-page";
import type { ExportPage } from "../durable-objects/location/calendar-view";

export type ExportFormat = "csv" | "ndjson";

/** Where the stream reads pages from: the location's object over RPC (a function, so tests can count calls). */
export type PageSource = (after: number, limit: number) => Promise<ExportPage>;

/**
 * The export's body: the location's readings dated in the span, in log (seq)
 * order, as CSV or NDJSON, pulled one log page at a time: the stream asks for
 * the next page only when the reader wants more, so neither the worker nor
 * the object ever holds more than a page, whatever the size of the log.
 *
 * Numbers are written as the dashboard's CSV writes them (protocol/csv.ts):
 * 12 significant digits, °C unless `unit` is F (CSV only; NDJSON keeps the
 * contract's °C, as the events endpoint does).
 */
export function exportStream(source: PageSource, format: ExportFormat, timeZone: string, unit: TemperatureUnit): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after: number | null = 0;
  let started = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true;
          if (format === "csv") controller.enqueue(encoder.encode(csvLine(csvHeader(unit))));
        }
        // Pages whose entries are all outside the span give no text: keep reading until one does or the log ends.
        while (after !== null) {
          const page = await source(after, EXPORT_PAGE_ENTRIES);
          after = page.next;
          const text = page.readings.map((r) => (format === "csv" ? csvLine(csvRow(r, timeZone, unit)) : `${JSON.stringify(ndjsonRow(r, timeZone))}\n`)).join("");
          if (text !== "") {
            controller.enqueue(encoder.encode(text));
            return;
          }
        }
        controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

export const csvHeader = (unit: TemperatureUnit) => ["seq", "id", "device", "occurred_at_utc", "occurred_at_local", "vote", `temperature_${unit === "C" ? "c" : "f"}`, "humidity_pct"];

function csvRow(r: ReadingEntry, timeZone: string, unit: TemperatureUnit) {
  return [
    r.seq,
    r.id,
    r.deviceId,
    isoString(r.occurredAt),
    localIso(timeZone, r.occurredAt, true),
    r.vote ?? null,
    r.temperature === undefined ? null : fromCelsius(r.temperature, unit),
    r.humidity ?? null,
  ];
}

/** One NDJSON line: the reading as the events endpoint carries it, plus its local time; numbers as in the CSV. */
function ndjsonRow(r: ReadingEntry, timeZone: string) {
  return {
    seq: r.seq,
    id: r.id,
    deviceId: r.deviceId,
    occurredAt: isoString(r.occurredAt),
    local: localIso(timeZone, r.occurredAt, true),
    ...(r.vote !== undefined && { vote: r.vote }),
    ...(r.temperature !== undefined && { temperature: csvNumber(r.temperature) }),
    ...(r.humidity !== undefined && { humidity: csvNumber(r.humidity) }),
  };
}
