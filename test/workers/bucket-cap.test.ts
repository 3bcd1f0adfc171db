import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hourlyResponse, locationResponse } from "../../protocol";
import { DEVICES_LISTED } from "../../domain/device-count";
import { api, ingestOk, locationPath, parsed } from "./support/api";
import { HOUR, MINUTE, freshId } from "./support/events";

/**
 * The row-limit hole: every device id of an hour in one JSON cell let
 * ~15,000 distinct 128-character ids push that row past the platform's 2 MB
 * row limit, after which every batch touching the hour failed. Buckets now
 * list at most DEVICES_LISTED devices and count the rest in a fixed-size sketch.
 */

const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
type BucketRow = { start: number; votes: number; devices: string };

describe("bucket cap: no projection row grows with the devices heard", () => {
  it("15,000 distinct 128-char device ids in one hour: ingest keeps working, rows stay small, figures right", { timeout: 240_000 }, async () => {
    const location = "cap-15k";
    const hour = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const total = 15_000;
    const deviceId = (i: number) => `sensor-${i}-`.padEnd(128, "abcdefghij");
    for (let first = 0; first < total; first += 500) {
      const events = Array.from({ length: 500 }, (_, k) => {
        const i = first + k;
        // Twenty minutes of the hour, 750 devices each: the minutes stay under the cap, the hour does not.
        return { id: freshId("cap"), deviceId: deviceId(i), location, occurredAt: new Date(hour + (i % 20) * MINUTE).toISOString(), vote: 1, temperature: 21 };
      });
      const answer = await ingestOk(events);
      expect(answer.accepted, `batch at ${first}`).toBe(500);
    }
    // A second round into the same hour and minutes, from devices already heard and new ones: still accepted.
    const again = Array.from({ length: 500 }, (_, k) => ({
      id: freshId("cap"),
      deviceId: deviceId(k * 40),
      location,
      occurredAt: new Date(hour + 59 * MINUTE).toISOString(),
      vote: 0,
    }));
    expect((await ingestOk(again)).accepted).toBe(500);
    expect((await parsed(await api(locationPath(location)), locationResponse)).head).toBe(total + 500);

    const stub = stubFor(location);
    const rows = (await stub.projectionRows()) as { hours: BucketRow[]; minutes: BucketRow[] };
    const hourRow = rows.hours.find((r) => r.start === hour)!;
    expect(hourRow.votes).toBe(total + 500);
    // 1,000 listed ids of ~131 characters plus a 4,096-character sketch; unbounded it would be ~2 MB.
    expect(hourRow.devices.length).toBeLessThan(DEVICES_LISTED * 135 + 4_200);
    const decoded = JSON.parse(hourRow.devices) as { listed: string[]; sketch: string };
    expect(decoded.listed).toHaveLength(DEVICES_LISTED);
    for (const m of rows.minutes) expect(m.devices.length, `minute ${m.start}`).toBeLessThan(DEVICES_LISTED * 200 + 4_200);
    // The 59th minute: 500 devices, every one listed with its tally.
    expect(JSON.parse(rows.minutes.find((r) => r.start === hour + 59 * MINUTE)!.devices)).toHaveLength(500);

    const series = await parsed(await api(locationPath(location, `/hourly?from=${new Date(hour).toISOString()}&to=${new Date(hour + HOUR).toISOString()}`)), hourlyResponse);
    expect(series.hours).toHaveLength(1);
    const [h] = series.hours;
    expect(h!.votes).toBe(total + 500);
    expect(h!.score).toBeCloseTo(total / (total + 500), 12);
    expect(h!.temperature).toBe(21);
    // Distinct devices: an estimate beyond the cap (standard error ~1.6%).
    expect(Math.abs(h!.devices - total) / total).toBeLessThan(0.05);

    // After eviction the capped row reads back the same, and a rebuild writes the same rows.
    await evictDurableObject(stub);
    const afterEviction = await parsed(await api(locationPath(location, `/hourly?from=${new Date(hour).toISOString()}&to=${new Date(hour + HOUR).toISOString()}`)), hourlyResponse);
    expect(afterEviction).toEqual(series);
    const incremental = await stub.projectionRows();
    await stub.rebuild();
    expect(await stub.projectionRows()).toEqual(incremental);
  });
});
