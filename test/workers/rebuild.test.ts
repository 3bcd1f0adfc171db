import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { rebuildResponse, type IngestEvent, type RebuildResponse } from "../../protocol";
import { REBUILD_CHUNK_EVENTS } from "../../durable-objects/location/rebuild";
import { api, ingestOk, locationPath, parsed, postIngest, storedEvents } from "./support/api";
import { HOUR, MINUTE, freshId, reading } from "./support/events";
import { until } from "./support/until";

/**
 * A rebuild in chunks: each chunk its own invocation (the POST's, then the
 * object's real alarm), progress in storage so an eviction between chunks
 * loses nothing, reads from the old projections until the swap.
 */

const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}` };


/** `n` readings over the last ~50 hours from 37 devices, votes mostly happy (no rule fires on a happy device). */
function history(location: string, n: number, from: number): IngestEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: freshId("rb"),
    deviceId: `dev-${i % 37}`,
    location,
    occurredAt: from + Math.floor((i * 50 * HOUR) / n),
    vote: ([1, 1, 1, 0.5] as const)[i % 4],
    temperature: 18 + (i % 9) / 3,
    humidity: 40 + (i % 11),
  }));
}

describe("chunked rebuild", () => {
  it("survives eviction between chunks, keeps serving the old projections, and ends equal to the incremental rows", { timeout: 180_000 }, async () => {
    const location = "rebuild-chunks";
    const stub = stubFor(location);
    // The twin gets the same log, batch for batch, and is never rebuilt: the incremental rows to compare with.
    const twin = "rebuild-twin";
    const twinStub = stubFor(twin);
    const total = 2 * REBUILD_CHUNK_EVENTS + 5_000;
    const events = history(location, total, Date.now() - 52 * HOUR);
    for (let i = 0; i < total; i += 500) {
      await stub.append(location, events.slice(i, i + 500));
      await twinStub.append(twin, events.slice(i, i + 500).map((e) => ({ ...e, location: twin })));
    }
    // A rule set and its system entry: the action projections are rebuilt too.
    for (const where of [location, twin]) {
      const put = await api(locationPath(where, "/rules"), {
        method: "PUT",
        headers: { ...admin, "content-type": "application/json" },
        body: JSON.stringify({ rules: [{ id: "cold", metric: "temperature", op: "below", threshold: 10, minSamples: 1, raise: "HEAT", clear: "OFF" }] }),
      });
      expect(put.status).toBe(200);
    }

    const hourlyPath = locationPath(location, `/hourly?from=${new Date(Date.now() - 60 * HOUR).toISOString()}`);
    const reads = async () => ({
      hourly: await (await api(hourlyPath)).json(),
      devices: await (await api(locationPath(location, "/devices"))).json(),
      rules: await (await api(locationPath(location, "/rules"))).json(),
    });
    const before = await reads();

    // Evict right after the POST's chunk, before the alarm can run the next: the progress must be in storage.
    const started = await parsed(await api(locationPath(location, "/rebuild"), { method: "POST", headers: admin }), rebuildResponse, 202);
    expect(started).toMatchObject({ location, state: "running", events: REBUILD_CHUNK_EVENTS, chunks: 1, head: total + 1 });
    await evictDurableObject(stub);
    expect(await reads(), "reads during the rebuild: the old projections").toEqual(before);

    // Events arriving during the rebuild land in the live projections now and in the rebuilt ones at the swap.
    const late = [reading(location, { deviceId: "late-1", vote: 1, temperature: 22 }), reading(location, { deviceId: "late-2", vote: 0.5 })];
    for (const batch of [late, late.map((e) => ({ ...e, location: twin }))]) {
      const res = await postIngest({ events: batch });
      expect(res.status, await res.text()).toBe(200);
    }
    const withLate = await reads();
    expect(withLate.devices).not.toEqual(before.devices);

    const status = () => api(locationPath(location, "/rebuild"), { headers: admin }).then((r) => parsed(r, rebuildResponse));
    const seen: RebuildResponse[] = [];
    const done = await until("the alarm to finish the rebuild", Date.now() + 120_000, async () => {
      const s = await status();
      seen.push(s);
      return s.state === "done" ? s : null;
    });
    expect(done).toMatchObject({ state: "done", events: total + 3, head: total + 3, chunks: 3 });
    expect(done.finishedAt).not.toBeNull();
    // Every status seen on the way counted forward from where the evicted instance left off.
    for (const s of seen) expect(s.events).toBeGreaterThanOrEqual(REBUILD_CHUNK_EVENTS);

    expect(await reads(), "reads after the swap").toEqual(withLate);
    expect((await storedEvents(location)).length).toBe(total + 3);
    // The rows the chunks built equal the twin's incremental rows over the same log (the late events folded in too).
    const rebuiltRows = await stub.projectionRows();
    expect(rebuiltRows).toEqual(await twinStub.projectionRows());
    await evictDurableObject(stub);
    expect(await reads(), "after another eviction: loaded from the swapped-in tables").toEqual(withLate);
    // And a second rebuild in one call writes exactly these rows again.
    await stub.rebuild();
    expect(await stub.projectionRows()).toEqual(rebuiltRows);
  });

  it("a location nothing was written to has nothing to rebuild, and stays uncreated", async () => {
    const location = "rebuild-empty";
    const answer = await parsed(await api(locationPath(location, "/rebuild"), { method: "POST", headers: admin }), rebuildResponse, 202);
    expect(answer).toEqual({ location, state: "idle", events: 0, head: 0, chunks: 0, rowsWritten: 0, startedAt: null, finishedAt: null });
    expect(await storedEvents(location)).toEqual([]);
  });
});
