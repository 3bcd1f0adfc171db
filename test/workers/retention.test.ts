import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eventsGone, eventsPage, type IngestEvent } from "../../protocol";
import { RETENTION_CHUNK_EVENTS } from "../../domain/location/retention";
import { api, locationPath, parsed } from "./support/api";
import { HOUR, freshId } from "./support/events";
import { LiveClient } from "./support/live-client";
import { until } from "./support/until";

/**
 * Retention through the object's real alarm: this project runs with
 * RETENTION_DAYS = 0.0001 (8.64 s; vitest.config.ts), so readings age out
 * while the test watches. Nothing here calls `alarm()`.
 */
const RETENTION_MS = 0.0001 * 86_400_000;
const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
const alarmOf = (location: string) => runInDurableObject(stubFor(location), (_, state) => state.storage.getAlarm());
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };


/** Happy readings from 23 devices, dated 2 to 6 hours ago (no live window, no rule fires). */
function readings(location: string, n: number): IngestEvent[] {
  const from = Date.now() - 6 * HOUR;
  return Array.from({ length: n }, (_, i) => ({
    id: freshId("ret"),
    deviceId: `dev-${i % 23}`,
    location,
    occurredAt: from + Math.floor((i * 4 * HOUR) / n),
    vote: ([1, 1, 0.5] as const)[i % 3],
    temperature: 19 + (i % 5),
  }));
}

describe("retention (RETENTION_DAYS)", () => {
  it("drops aged readings in bounded chunks by the alarm; projections, rules and a rebuild keep every total; reads before the start answer 410", { timeout: 180_000 }, async () => {
    const location = "retention-1";
    const stub = stubFor(location);
    // A rule set first: its system entry lies in the prefix retention drops, and must keep defining state.
    const rules = [{ id: "hot", metric: "temperature", op: "above", threshold: 90, minSamples: 1, raise: "FAN", clear: "OFF", windowMinutes: 60 }];
    const beforePut = Date.now();
    expect((await api(locationPath(location, "/rules"), { method: "PUT", headers: admin, body: JSON.stringify({ rules }) })).status).toBe(200);
    const afterPut = Date.now();

    const total = 2 * RETENTION_CHUNK_EVENTS + 5_000;
    const events = readings(location, total);
    for (let i = 0; i < total; i += 500) await stub.append(location, events.slice(i, i + 500));
    const head = total + 1;

    // With retention on, once the coalesced fleet update has run, the next alarm is when the oldest entry
    // (the rule set's, recorded by the PUT) ages out: nothing else is due.
    const alarm = await until("the fleet update's alarm to pass", Date.now() + 30_000, async () => {
      const at = await alarmOf(location);
      return at !== null && at > Date.now() + 1_000 ? at : null;
    });
    expect(alarm).toBeGreaterThanOrEqual(beforePut + RETENTION_MS);
    expect(alarm).toBeLessThanOrEqual(afterPut + RETENTION_MS);

    const hourlyPath = locationPath(location, `/hourly?from=${new Date(Date.now() - 8 * HOUR).toISOString()}`);
    const reads = async () => ({
      hourly: await (await api(hourlyPath)).json(),
      devices: await (await api(locationPath(location, "/devices"))).json(),
      rules: await (await api(locationPath(location, "/rules"))).json(),
    });
    const before = await reads();
    const rowsBefore = await stub.projectionRows();

    // Everything but the newest commit (it holds the head) ages out; the alarm drops it a chunk per run.
    const lastBatch = total - (total % 500 || 500);
    const gone = await until("retention to drop all but the newest batch", Date.now() + 120_000, async () => {
      const res = await api(locationPath(location, "/events?after=0"));
      if (res.status !== 410) {
        await res.text();
        return null;
      }
      const body = eventsGone.parse(await res.json());
      return body.firstSeq === lastBatch + 2 ? body : null;
    });
    expect(gone.error).toBe("events before the retained start are gone");
    expect(gone.issues).toEqual([expect.stringContaining(`the first seq held is ${lastBatch + 2}`)]);
    const stats = await stub.writeStats();
    expect(stats.alarms, "at most RETENTION_CHUNK_EVENTS per alarm run: three runs at least").toBeGreaterThanOrEqual(Math.ceil(lastBatch / RETENTION_CHUNK_EVENTS));

    // What is held pages as before; the head is where it was.
    const held = await parsed(await api(locationPath(location, `/events?after=${gone.firstSeq - 1}&limit=1000`)), eventsPage);
    expect(held.events.map((e) => e.seq)).toEqual(Array.from({ length: head - gone.firstSeq + 1 }, (_, i) => gone.firstSeq + i));
    expect((await (await api(locationPath(location))).json()) as { head: number }).toMatchObject({ head });
    // The 410 as the OpenAPI document describes it.
    const again = await parsed(await api(locationPath(location, `/events?after=${gone.firstSeq - 2}`)), eventsGone, 410);
    expect(again.firstSeq).toBe(gone.firstSeq);

    // Every projection kept its totals, the rule set its state.
    expect(await reads()).toEqual(before);
    expect(await stub.projectionRows()).toEqual(rowsBefore);

    // A rebuild after retention starts from the dropped prefix's totals: the same rows.
    await stub.rebuild();
    expect(await stub.projectionRows()).toEqual(rowsBefore);
    expect(await reads()).toEqual(before);

    // A socket resuming from before the retained start: its snapshot, then a resync frame (start afresh at the head).
    const client = await LiveClient.connect(location, "?since=5");
    expect((await client.nextOfType("snapshot")).head).toBe(head);
    expect(await client.nextOfType("resync")).toEqual({ type: "resync", location, head });
    client.ws.close(1000);

    // Nothing more can age out (the newest commit stays): no alarm is left set for retention.
    await until("no alarm", Date.now() + 30_000, async () => ((await alarmOf(location)) === null ? true : null));
  });
});
