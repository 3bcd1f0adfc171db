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
 * A last run is a real fleet's trickle: one event per request at a steady
 * rate (1 event/s by default) into a fresh location, for `--steady-seconds`;
 * its rows/event counts every row the object wrote meanwhile, alarms and
 * checkpoints included (GET …/stats).
 *
 * Registry rows (`--registry-devices`, default 1,000; 0 skips them): 500-event
 * batches from that many devices, first with none of them registered (every
 * lookup misses: events go where they claim), then with all of them
 * registered at one location while the events claim another (every lookup
 * hits and reroutes). Repeated `--registry-rounds` times, alternating which
 * goes first; the ratio of their throughputs is printed. With `--baseline`,
 * the baseline build (no registry at all) runs the unregistered row too.
 *
 * `--baseline REV` also runs REV (a git worktree beside this checkout, its own
 * wrangler dev) and interleaves the runs, so before/after figures come from
 * one run on one machine state.
 *
 *   npm run bench:ingest [-- --events 50000 --devices 20 --concurrency 4 --steady-seconds 60 --steady-rate 1 --baseline HEAD~3]
 */
import { parseArgs } from "node:util";
import { randomUUID } from "node:crypto";
import { createUuidV7 } from "../bridge/uuidv7";
import type { IngestEventInput, IngestResponse } from "../protocol";
import { startLocalWorker, type LocalWorker } from "../test/support/local-worker";
import { checkoutBaseline, type Baseline } from "./lib/baseline";
import { percentile, report } from "./lib/report";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "50000" },
    devices: { type: "string", default: "20" },
    concurrency: { type: "string", default: "4" },
    "steady-seconds": { type: "string", default: "60" },
    "steady-rate": { type: "string", default: "1" },
    baseline: { type: "string" },
    "registry-devices": { type: "string", default: "1000" },
    "registry-rounds": { type: "string", default: "3" },
  },
});
const totalEvents = Number(args.events);
const devices = Number(args.devices);
const concurrency = Number(args.concurrency);
const steadySeconds = Number(args["steady-seconds"]);
const steadyRate = Number(args["steady-rate"]);
const registryDevices = Number(args["registry-devices"]);
const registryRounds = Number(args["registry-rounds"]);

const VOTES = [0, 0.5, 1] as const;
const uuidV7 = createUuidV7();
type IdKind = "uuidv7" | "uuidv4";
/** Which devices send: `count` of them named `prefix-0`, `prefix-1`, … */
type Senders = { prefix: string; count: number };
function makeEvent(location: string, i: number, ids: IdKind, senders: Senders = { prefix: "bench", count: devices }): IngestEventInput {
  return {
    id: ids === "uuidv7" ? uuidV7() : randomUUID(),
    deviceId: `${senders.prefix}-${i % senders.count}`,
    location,
    occurredAt: Date.now() - (i % 1000),
    vote: VOTES[i % 3]!,
    temperature: 20 + (i % 50) / 10,
    humidity: 30 + (i % 40),
  };
}

type Stats = { accepted: number; rowsWritten: number };

type Row = Record<string, string | number>;

/** Every run of the benchmark against one running worker; `build` names it in the table. */
function runner(worker: LocalWorker, build: string) {
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
    const result = (await res.json()) as IngestResponse;
    if (result.rejected.length > 0) throw new Error(`ingest rejected events: ${JSON.stringify(result.rejected[0])}`);
    return result;
  };

  /** Sends `requests` batches of `batchSize` with `concurrency` in flight (or one every `intervalMs`); bodies are built beforehand. */
  async function run(location: string, batchSize: number, requests: number, ids: IdKind = "uuidv7", intervalMs?: number, senders?: Senders, stored = location): Promise<Row> {
    const bodies = Array.from({ length: requests }, (_, r) =>
      JSON.stringify({ events: Array.from({ length: batchSize }, (_, i) => makeEvent(location, r * batchSize + i, ids, senders)) }),
    );
    const latencies: number[] = [];
    let accepted = 0;
    let next = 0;
    const before = await stats(stored);
    const started = performance.now();
    const send = async (body: string) => {
      const t0 = performance.now();
      const result = await post(body);
      latencies.push(performance.now() - t0);
      accepted += result.accepted;
    };
    if (intervalMs === undefined) {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < bodies.length) await send(bodies[next++]!);
        }),
      );
    } else {
      // A steady trickle: one request every intervalMs, on schedule.
      for (const [i, body] of bodies.entries()) {
        const due = started + i * intervalMs;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await send(body);
      }
      // Let the alarms that follow the last event run, so their rows count too.
      await new Promise((r) => setTimeout(r, 3_000));
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await stats(stored);
    return {
      build,
      registry: senders === undefined ? "-" : stored === location ? `${senders.count} devices, none registered` : `${senders.count} devices, all registered`,
      ids,
      batch: intervalMs === undefined ? batchSize : `1 @ ${(1000 / intervalMs).toFixed(1)}/s`,
      requests,
      events: accepted,
      "events/s": Math.round(accepted / seconds),
      "p50 ms": percentile(latencies, 50),
      "p99 ms": percentile(latencies, 99),
      "rows/event": (after.rowsWritten - before.rowsWritten) / Math.max(1, after.accepted - before.accepted),
    };
  }
  /** Registers `senders` at `location` through the admin API, 8 requests in flight. */
  const register = async (senders: Senders, location: string): Promise<void> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < senders.count) {
          const id = `${senders.prefix}-${next++}`;
          const res = await fetch(`${worker.url}/api/v1/devices/${id}`, {
            method: "PUT",
            headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
            body: JSON.stringify({ location, enabled: true, expectedIntervalSeconds: 60 }),
          });
          if (res.status !== 200) throw new Error(`registering ${id} answered ${res.status}: ${await res.text()}`);
        }
      }),
    );
  };
  return Object.assign(run, { register });
}

const baseline: Baseline | null = args.baseline ? checkoutBaseline(args.baseline) : null;
const workers: { build: string; worker: LocalWorker }[] = [];
try {
  workers.push({ build: "current", worker: await startLocalWorker() });
  if (baseline) workers.push({ build: `baseline ${baseline.rev}`, worker: await startLocalWorker({ root: baseline.root }) });
  const runs = workers.map(({ build, worker }) => runner(worker, build));
  // Warm each worker, its object and SQLite's caches before measuring.
  for (const run of runs) await run("bench-warmup", 100, 20);
  const rows: Row[] = [];
  for (const batch of [1, 100, 500]) {
    const events = batch === 1 ? Math.min(totalEvents, 3000) : totalEvents;
    for (const run of runs) rows.push(await run(`bench-${batch}`, batch, Math.ceil(events / batch)));
  }
  for (const run of runs) rows.push(await run("bench-500-v4", 500, Math.ceil(totalEvents / 500), "uuidv4"));
  if (registryDevices > 0) {
    // Lookups that miss vs lookups that hit and reroute, same worker, same sizes, alternating order.
    const [current, ...others] = runs;
    const unregistered: Senders = { prefix: "bench-free", count: registryDevices };
    const registered: Senders = { prefix: "bench-reg", count: registryDevices };
    await current!.register(registered, "bench-registry-home");
    const rate = { none: 0, registered: 0 };
    const requests = Math.ceil(totalEvents / 500);
    for (let round = 0; round < registryRounds; round++) {
      const none = async () => {
        const row = await current!("bench-registry-free", 500, requests, "uuidv7", undefined, unregistered);
        rate.none += row["events/s"] as number;
        rows.push(row);
      };
      const hit = async () => {
        const row = await current!("bench-registry-claimed", 500, requests, "uuidv7", undefined, registered, "bench-registry-home");
        rate.registered += row["events/s"] as number;
        rows.push(row);
      };
      if (round % 2 === 0) await none().then(hit);
      else await hit().then(none);
      for (const other of others) rows.push(await other("bench-registry-free", 500, requests, "uuidv7", undefined, unregistered));
    }
    console.log(`\nregistry: ${registryDevices} registered devices at ${(rate.registered / rate.none).toFixed(3)}× the throughput of ${registryDevices} unregistered ones (mean of ${registryRounds} rounds each)`);
  }
  if (steadySeconds > 0) {
    // The trickles run side by side: same minutes, same machine state.
    rows.push(...(await Promise.all(runs.map((run) => run("bench-steady", 1, Math.round(steadySeconds * steadyRate), "uuidv7", 1000 / steadyRate)))));
  }
  console.log(`\nOne location, ${devices} devices, ${concurrency} requests in flight, wrangler dev on 127.0.0.1\n`);
  report("ingest", rows, { devices, concurrency, steadySeconds, steadyRate, registryDevices, registryRounds, baseline: baseline?.rev ?? null });
} finally {
  for (const { worker } of workers) await worker.dispose();
  baseline?.dispose();
}
