import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IngestEvent } from "../../protocol";
import { storedReadings } from "./support/api";
import { freshId } from "./support/events";

/**
 * Rows written, as the runtime bills them (`cursor.rowsWritten`, summed by
 * the object and returned from `append()` over RPC): the log must cost about
 * one row per event, projections one row per touched bucket or device.
 */

const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));

/**
 * `n` events from `devices` devices spread over one minute, all readings
 * present. Mostly happy votes (score 0.83), so the default low-score rule
 * stays quiet and the figures are those of readings alone.
 */
function batch(location: string, n: number, devices: number, start: number): IngestEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: freshId("rows"),
    deviceId: `sensor-${i % devices}`,
    location,
    occurredAt: start + Math.floor((i * 60_000) / n),
    vote: ([1, 1, 0.5] as const)[i % 3],
    temperature: 18 + (i % 10) / 4,
    humidity: 40 + (i % 7),
  }));
}

describe("rows written per accepted event", () => {
  it("a 500-event batch from 20 devices within a minute costs ≤ 1.1 rows per event", async () => {
    const location = "rows-500";
    const stub = stubFor(location);
    const start = Date.now() - 5 * 60_000;
    const first = await stub.append(location, batch(location, 500, 20, start));
    expect(first.accepted).toBe(500);
    expect(first.duplicates).toBe(0);
    expect(first.head).toBe(500);
    // At least one row per event: the log really is written.
    expect(first.rowsWritten).toBeGreaterThanOrEqual(500);
    expect(first.rowsWritten / first.accepted).toBeLessThanOrEqual(1.1);

    // A second batch into the same minutes updates existing projection rows.
    const second = await stub.append(location, batch(location, 500, 20, start));
    expect(second.accepted).toBe(500);
    expect(second.head).toBe(1000);
    expect(second.rowsWritten / second.accepted).toBeLessThanOrEqual(1.1);
    expect(await storedReadings(location)).toHaveLength(1000);
  });

  it("a duplicate-only batch costs 0 rows, and half-duplicate batches pay only for the new half", async () => {
    const location = "rows-dup";
    const stub = stubFor(location);
    const events = batch(location, 500, 20, Date.now() - 10 * 60_000);
    await stub.append(location, events);

    const again = await stub.append(location, events);
    expect(again).toEqual({ accepted: 0, duplicates: 500, head: 500, rowsWritten: 0 });

    const fresh = batch(location, 250, 20, Date.now() - 10 * 60_000);
    const mixed = await stub.append(location, [...events.slice(0, 250), ...fresh]);
    expect(mixed.accepted).toBe(250);
    expect(mixed.duplicates).toBe(250);
    expect(mixed.head).toBe(750);
    expect(mixed.rowsWritten / mixed.accepted).toBeLessThanOrEqual(1.1);
  });

  it("an event whose id repeats inside one batch is written once", async () => {
    const location = "rows-dup-within";
    const stub = stubFor(location);
    const [one] = batch(location, 1, 1, Date.now());
    const single = await stubFor("rows-single").append("rows-single", [{ ...one!, location: "rows-single" }]);
    const repeated = await stub.append(location, Array.from({ length: 100 }, () => one!));
    expect(repeated.accepted).toBe(1);
    expect(repeated.duplicates).toBe(99);
    // Same rows as storing it alone into an empty location.
    expect(repeated.rowsWritten).toBe(single.rowsWritten);
  });
});
