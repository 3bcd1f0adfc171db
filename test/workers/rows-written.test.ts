import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { IngestEvent } from "../../protocol";
import { api, locationPath, storedEvents, storedReadings } from "./support/api";
import { freshId } from "./support/events";

/**
 * Rows written, as the runtime bills them (`cursor.rowsWritten`, summed by
 * the object and returned from `append()` over RPC, and in `writeStats()` for
 * every row it writes, checkpoints included): the log costs one row per event
 * and one per commit; projections are written back by checkpoints, one row per
 * touched bucket or device every CHECKPOINT_EVERY_EVENTS events.
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
  it("a 500-event batch from 20 devices within a minute costs ≤ 1.03 rows per event", async () => {
    const location = "rows-500";
    const stub = stubFor(location);
    const start = Date.now() - 5 * 60_000;
    const first = await stub.append(location, batch(location, 500, 20, start));
    expect(first.accepted).toBe(500);
    expect(first.duplicates).toBe(0);
    expect(first.head).toBe(500);
    // At least one row per event: the log really is written.
    expect(first.rowsWritten).toBeGreaterThanOrEqual(500);
    expect(first.rowsWritten / first.accepted).toBeLessThanOrEqual(1.03);

    // A second batch into the same minutes updates existing projection rows.
    const second = await stub.append(location, batch(location, 500, 20, start));
    expect(second.accepted).toBe(500);
    expect(second.head).toBe(1000);
    expect(second.rowsWritten / second.accepted).toBeLessThanOrEqual(1.03);
    expect(await storedReadings(location)).toHaveLength(1000);
  });

  it("a duplicate-only batch costs 0 rows, and half-duplicate batches pay only for the new half", async () => {
    const location = "rows-dup";
    const stub = stubFor(location);
    const events = batch(location, 500, 20, Date.now() - 10 * 60_000);
    await stub.append(location, events);

    const again = await stub.append(location, events);
    expect(again).toEqual({ accepted: 0, duplicates: 500, conflicts: [], head: 500, rowsWritten: 0 });

    const fresh = batch(location, 250, 20, Date.now() - 10 * 60_000);
    const mixed = await stub.append(location, [...events.slice(0, 250), ...fresh]);
    expect(mixed.accepted).toBe(250);
    expect(mixed.duplicates).toBe(250);
    expect(mixed.head).toBe(750);
    expect(mixed.rowsWritten / mixed.accepted).toBeLessThanOrEqual(1.03);
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

describe("one event per batch (a real fleet's trickle)", () => {
  it("costs ≤ 2.3 rows per accepted event over 2,100 batches, the checkpoint they trigger included", { timeout: 90_000 }, async () => {
    const location = "rows-trickle";
    const stub = stubFor(location);
    const start = Date.now() - 30 * 60_000;
    for (let i = 0; i < 2_100; i++) {
      const [event] = batch(location, 1, 1, start + i * 500);
      await stub.append(location, [{ ...event!, deviceId: `sensor-${i % 20}` }]);
    }
    const stats = await stub.writeStats();
    expect(stats.accepted).toBe(2_100);
    expect(stats.checkpoints).toBeGreaterThanOrEqual(1);
    // Every row the object wrote: events, commits, its name, checkpoints.
    expect(stats.rowsWritten).toBeGreaterThanOrEqual(2 * 2_100);
    expect(stats.rowsWritten / stats.accepted).toBeLessThanOrEqual(2.3);
  });

  it("after eviction the object folds the log's tail again: every read is unchanged and equals a rebuild", async () => {
    const location = "rows-evicted";
    const stub = stubFor(location);
    const start = Date.now() - 20 * 60_000;
    for (let i = 0; i < 300; i++) {
      const [event] = batch(location, 1, 1, start + i * 3_000);
      await stub.append(location, [{ ...event!, deviceId: `sensor-${i % 7}` }]);
    }
    const reads = async () => ({
      summary: { ...(await stub.summary(location)), window: { ...(await stub.summary(location)).window, to: null } },
      hourly: await (await api(locationPath(location, "/hourly"))).json(),
      devices: await (await api(locationPath(location, "/devices"))).json(),
      events: await storedEvents(location),
    });
    const before = await reads();
    expect(before.events).toHaveLength(300);
    await evictDurableObject(stub);
    expect(await reads()).toEqual(before);
    const incremental = await stub.projectionRows();
    await stub.rebuild();
    expect(await stub.projectionRows()).toEqual(incremental);
  }, 30_000); // 300 sequential appends: ~5 s on a loaded 2-core machine
});
