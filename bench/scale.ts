/**
 * A location at scale, through `wrangler dev` (workerd, the local runtime,
 * its SQLite on disk), in one run:
 * 1. seed: `--events` readings (default 1,000,000) through POST /api/v1/ingest
 *    in 500-event batches, dated one per second up to an hour ago (the
 *    projections get the minute and hour rows of that many seconds), from 50
 *    devices;
 * 2. storage: the Durable Objects' SQLite files on disk;
 * 3. first answer after eviction: `wrangler dev` stopped and started on the
 *    same state, then the first read of the location (object loaded, schema
 *    checked, the log's tail after the last checkpoint folded again), the
 *    hourly history, and the same read warm;
 * 4. rebuild: POST …/rebuild (runs the first 20,000-entry chunk), then
 *    GET …/rebuild polled until done: total time, chunks, time per chunk;
 *    reads compared before and after;
 * 5. retention: restarted with RETENTION_DAYS so small that every batch but
 *    the newest has aged, one more event (its commit sets the alarm), then
 *    the time until the alarm has dropped everything droppable (GET
 *    …/events?after=0 answers 410 at the newest commit); totals compared.
 *
 *   npm run bench:scale [-- --events 1000000]
 *
 * Date.now() does not advance inside one invocation of workerd, so chunk
 * times are measured from outside: the POST's own answer time (one chunk
 * plus the shadow tables' creation) and the total over the chunks.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HOURLY_LIMITS, eventsGone, hourlyResponse, locationResponse, rebuildResponse, type IngestEvent } from "../protocol";
import { report } from "./lib/report";
import { startLocalWorker, type LocalWorker } from "../test/support/local-worker";

const { values: args } = parseArgs({ options: { events: { type: "string", default: "1000000" }, concurrency: { type: "string", default: "2" } } });
const TOTAL = Number(args.events);
const BATCH = 500;
const LOCATION = "scale";
const DEVICES = 50;

const path = (rest = "") => `/api/v1/locations/${LOCATION}${rest}`;

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await run();
  return { ms: performance.now() - t0, value };
}

async function get(worker: LocalWorker, rest: string, token?: string): Promise<unknown> {
  const res = await fetch(worker.url + path(rest), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body: unknown = await res.json();
  if (!res.ok) throw new Error(`GET ${rest}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Every file under `dir`, summed (the objects' SQLite databases and their WAL). */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    total += entry.isDirectory() ? bytesUnder(full) : statSync(full).size;
  }
  return total;
}

const persistDir = mkdtempSync(join(tmpdir(), "happy-hub-scale-"));
const rows: Record<string, string | number>[] = [];
const row = (step: string, figure: string, value: number, unit: string) => {
  rows.push({ step, figure, value: Math.round(value * 100) / 100, unit });
  console.log(`${step}: ${figure} = ${Math.round(value * 100) / 100} ${unit}`);
};

let worker = await startLocalWorker({ persistDir });
try {
  // 1. Seed.
  const end = Date.now() - 3_600_000;
  const start = end - TOTAL * 1_000;
  const batch = (b: number): IngestEvent[] =>
    Array.from({ length: Math.min(BATCH, TOTAL - b * BATCH) }, (_, k) => {
      const i = b * BATCH + k;
      return {
        id: `scale-${i}`,
        deviceId: `device-${i % DEVICES}`,
        location: LOCATION,
        occurredAt: start + i * 1_000,
        vote: ([1, 1, 0.5] as const)[i % 3],
        temperature: 18 + (i % 40) / 10,
        humidity: 35 + (i % 20),
      };
    });
  const batches = Math.ceil(TOTAL / BATCH);
  let nextBatch = 0;
  const seedStart = performance.now();
  const post = async () => {
    for (let b = nextBatch++; b < batches; b = nextBatch++) {
      const events = batch(b).map((e) => ({ ...e, occurredAt: new Date(e.occurredAt).toISOString() }));
      const res = await fetch(`${worker.url}/api/v1/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
        body: JSON.stringify({ events }),
      });
      const body = (await res.json()) as { accepted?: number };
      if (!res.ok || body.accepted !== events.length) throw new Error(`batch ${b}: ${res.status} ${JSON.stringify(body)}`);
      if (b % 200 === 0) console.log(`seeded ${b * BATCH} events (${Math.round((performance.now() - seedStart) / 1000)} s)`);
    }
  };
  await Promise.all(Array.from({ length: Number(args.concurrency) }, post));
  const seedMs = performance.now() - seedStart;
  row("seed", `${TOTAL} events in ${batches} batches of ${BATCH}`, seedMs / 1000, "s");
  row("seed", "ingest rate", TOTAL / (seedMs / 1000), "events/s");
  const head = locationResponse.parse(await get(worker, "")).head;
  // Every hour the seeded seconds fall in (at most HOURLY_LIMITS.maxHours per request).
  const hourly = `/hourly?from=${new Date(Math.max(start, end - (HOURLY_LIMITS.maxHours - 2) * 3_600_000)).toISOString()}&to=${new Date(end + 3_600_000).toISOString()}`;
  if (head !== TOTAL) throw new Error(`head ${head}, expected ${TOTAL}`);

  // 2. Storage, after a restart so the WAL is checkpointed into the database.
  await worker.restart();
  row("storage", "SQLite files of the objects (log + projections)", bytesUnder(join(persistDir, "v3", "do")) / 2 ** 20, "MiB");

  // 3. First answer after eviction (the restart above was one; this is the measured one).
  await worker.restart();
  const first = await timed(() => get(worker, ""));
  row("after eviction", "first GET /locations/{location} (object loads, tail refolded)", first.ms, "ms");
  const hourlyFirst = await timed(() => get(worker, hourly));
  row("after eviction", "then GET …/hourly (every seeded hour)", hourlyFirst.ms, "ms");
  const warm = await timed(() => get(worker, ""));
  row("after eviction", "the same GET /locations/{location} warm", warm.ms, "ms");

  // 4. Rebuild.
  const reads = async () => ({
    hourly: hourlyResponse.parse(await get(worker, hourly)),
    devices: await get(worker, "/devices"),
  });
  const before = await reads();
  const rebuildStart = performance.now();
  const posted = await timed(async () => {
    const res = await fetch(worker.url + path("/rebuild"), { method: "POST", headers: { authorization: `Bearer ${worker.adminToken}` } });
    if (res.status !== 202) throw new Error(`POST /rebuild: ${res.status} ${await res.text()}`);
    return rebuildResponse.parse(await res.json());
  });
  let status = posted.value;
  while (status.state === "running") {
    await new Promise((r) => setTimeout(r, 100));
    status = rebuildResponse.parse(await get(worker, "/rebuild", worker.adminToken));
  }
  const rebuildMs = performance.now() - rebuildStart;
  row("rebuild", "POST …/rebuild answer (first chunk + shadow tables)", posted.ms, "ms");
  row("rebuild", `total, ${status.chunks} chunks of ≤ 20,000 entries`, rebuildMs / 1000, "s");
  row("rebuild", "per chunk (total / chunks)", rebuildMs / status.chunks, "ms");
  row("rebuild", "rows written", status.rowsWritten, "rows");
  const after = await reads();
  const same = JSON.stringify(after) === JSON.stringify(before);
  row("rebuild", "reads equal before and after (1 = yes)", same ? 1 : 0, "");
  if (!same) throw new Error("the rebuild changed what reads answer");

  // 5. Retention: a retention of 0.864 s, so every commit but the newest has aged.
  await worker.stop();
  worker = await startLocalWorker({ persistDir, vars: { RETENTION_DAYS: "0.00001" } });
  const retentionStart = performance.now();
  const one = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [{ id: "scale-last", deviceId: "device-0", location: LOCATION, occurredAt: new Date(end).toISOString(), vote: 1 }] }),
  });
  if (!one.ok) throw new Error(`the last event: ${one.status} ${await one.text()}`);
  for (;;) {
    const res = await fetch(worker.url + path("/events?after=0&limit=1"));
    const body: unknown = await res.json();
    if (res.status === 410 && eventsGone.parse(body).firstSeq === TOTAL + 1) break;
    if (performance.now() - retentionStart > 600_000) throw new Error(`retention did not finish: ${res.status} ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const retentionMs = performance.now() - retentionStart;
  const retentionChunks = Math.ceil(TOTAL / 20_000);
  row("retention", `one pass dropping ${TOTAL} readings (${retentionChunks} alarm runs)`, retentionMs / 1000, "s");
  row("retention", "per alarm run (total / runs)", retentionMs / retentionChunks, "ms");
  const afterRetention = hourlyResponse.parse(await get(worker, hourly));
  const votes = (h: typeof afterRetention) => h.hours.reduce((n, x) => n + x.votes, 0);
  row("retention", "votes in the hourly history: before", votes(before.hourly), "votes");
  row("retention", "votes in the hourly history: after (+1 new event)", votes(afterRetention), "votes");
  await worker.restart();
  row("retention", "SQLite files after (SQLite keeps freed pages; no VACUUM)", bytesUnder(join(persistDir, "v3", "do")) / 2 ** 20, "MiB");
  const rebuildAgain = performance.now();
  let again = rebuildResponse.parse(
    await (await fetch(worker.url + path("/rebuild"), { method: "POST", headers: { authorization: `Bearer ${worker.adminToken}` } })).json(),
  );
  while (again.state === "running") {
    await new Promise((r) => setTimeout(r, 100));
    again = rebuildResponse.parse(await get(worker, "/rebuild", worker.adminToken));
  }
  row("retention", "rebuild after retention (from the base projections)", performance.now() - rebuildAgain, "ms");
  const afterRebuild = hourlyResponse.parse(await get(worker, hourly));
  row("retention", "votes in the hourly history after that rebuild", votes(afterRebuild), "votes");
} finally {
  await worker.dispose();
  rmSync(persistDir, { recursive: true, force: true });
}

report("scale", rows, { events: TOTAL, batch: BATCH, devices: DEVICES, concurrency: Number(args.concurrency) });
