/**
 * Ingest throughput into ONE location through the real local runtime
 * (wrangler dev: proxy workerd → worker → LocationStream over RPC).
 *
 * For batches of 1, 100 and 500 events: events/s, request latency p50/p99,
 * and SQLite rows written per accepted event (from the object's own
 * `cursor.rowsWritten` counters, read through GET …/stats).
 *
 * Ids are UUIDv7 (time-ordered), as the bridge assigns when a device sends no
 * message id; one more run uses random UUIDv4 ids, whose inserts land all over
 * the log's primary-key B-tree and so cost more as the log grows.
 *
 *   npm run bench:ingest [-- --events 50000 --devices 20 --concurrency 4]
 */
import { parseArgs } from "node:util";
import { randomUUID } from "node:crypto";
import { createUuidV7 } from "../bridge/uuidv7";
import type { IngestEventInput, IngestResponse } from "../protocol";
import { startLocalWorker } from "../test/support/local-worker";
import { percentile, report } from "./lib/report";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "50000" },
    devices: { type: "string", default: "20" },
    concurrency: { type: "string", default: "4" },
  },
});
const totalEvents = Number(args.events);
const devices = Number(args.devices);
const concurrency = Number(args.concurrency);

const VOTES = [0, 0.5, 1] as const;
const uuidV7 = createUuidV7();
type IdKind = "uuidv7" | "uuidv4";
function makeEvent(location: string, i: number, ids: IdKind): IngestEventInput {
  return {
    id: ids === "uuidv7" ? uuidV7() : randomUUID(),
    deviceId: `bench-${i % devices}`,
    location,
    occurredAt: Date.now() - (i % 1000),
    vote: VOTES[i % 3]!,
    temperature: 20 + (i % 50) / 10,
    humidity: 30 + (i % 40),
  };
}

type Stats = { accepted: number; rowsWritten: number };

const worker = await startLocalWorker();
try {
  const stats = async (location: string): Promise<Stats> => {
    const res = await fetch(`${worker.url}/api/v1/locations/${location}/stats`, {
      headers: { authorization: `Bearer ${worker.adminToken}` },
    });
    return (await res.json()) as Stats;
  };
  const post = async (body: string): Promise<IngestResponse> => {
    const res = await fetch(`${worker.url}/api/v1/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
      body,
    });
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as IngestResponse;
  };

  /** Sends `requests` batches of `batchSize` with `concurrency` in flight; bodies are built beforehand. */
  async function run(location: string, batchSize: number, requests: number, ids: IdKind = "uuidv7") {
    const bodies = Array.from({ length: requests }, (_, r) =>
      JSON.stringify({ events: Array.from({ length: batchSize }, (_, i) => makeEvent(location, r * batchSize + i, ids)) }),
    );
    const latencies: number[] = [];
    let accepted = 0;
    let next = 0;
    const before = await stats(location);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const t0 = performance.now();
          const result = await post(body);
          latencies.push(performance.now() - t0);
          accepted += result.accepted;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = await stats(location);
    return {
      ids,
      batch: batchSize,
      requests,
      events: accepted,
      "events/s": Math.round(accepted / seconds),
      "p50 ms": percentile(latencies, 50),
      "p99 ms": percentile(latencies, 99),
      "rows/event": (after.rowsWritten - before.rowsWritten) / Math.max(1, after.accepted - before.accepted),
    };
  }

  // Warm the worker, the object and SQLite's caches before measuring.
  await run("bench-warmup", 100, 20);
  const rows = [];
  for (const batch of [1, 100, 500]) {
    const events = batch === 1 ? Math.min(totalEvents, 3000) : totalEvents;
    rows.push(await run(`bench-${batch}`, batch, Math.ceil(events / batch)));
  }
  rows.push(await run("bench-500-v4", 500, Math.ceil(totalEvents / 500), "uuidv4"));
  console.log(`\nOne location, ${devices} devices, ${concurrency} requests in flight, wrangler dev on 127.0.0.1\n`);
  report("ingest", rows, { devices, concurrency });
} finally {
  await worker.dispose();
}
