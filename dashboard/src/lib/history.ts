import { HOUR_MS, hourStart } from "../../../domain/time-buckets";

/** The `hours` whole hours ending with the current one (the span the server's hourly default also covers). */
export function historyRange(now: number, hours: number): { from: number; to: number } {
  const to = hourStart(now) + HOUR_MS;
  return { from: to - hours * HOUR_MS, to };
}
