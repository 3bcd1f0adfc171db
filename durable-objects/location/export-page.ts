import type { ReadingEntry } from "../../domain/location/entries";
import type { ExportPage } from "./calendar-view";
import type { OpenLocation } from "./open-location";

/** Log entries scanned per export page: one RPC from the worker's stream each, a bounded slice of the log in memory. */
export const EXPORT_PAGE_ENTRIES = 1_000;

/**
 * The readings among the log entries (after, after + limit] dated in
 * [span.from, span.to), in seq order. The export pages the log by seq (the
 * log has no index by occurredAt, and readings arrive late and out of order),
 * so a narrow range still reads the whole log, a page at a time.
 */
export function exportPage(open: OpenLocation | null, span: { from: number; to: number }, after: number, limit: number): ExportPage {
  if (!open) return { readings: [], next: null };
  const upTo = Math.min(open.head, after + Math.min(limit, EXPORT_PAGE_ENTRIES));
  const readings = open.log
    .entries(after, upTo)
    .filter((e): e is ReadingEntry => e.type === "reading" && e.occurredAt >= span.from && e.occurredAt < span.to);
  return { readings, next: upTo < open.head ? upTo : null };
}
