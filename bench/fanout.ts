/**
 * Fan-out of one location's frame to many live sockets, through the real
 * local runtime (wrangler dev): `--sockets` (1,000) live sockets on one
 * location, then `--batches` single-event ingests, one at a time. For each
 * batch: how long until the LAST socket has the batch's frame, timed
 *
 * - from the ingest request's start (what a viewer waits after a vote
 *   reaches the worker), and
 * - from the commit (the event's `recordedAt`, stamped by the location's
 *   object on this machine's clock): the broadcast alone.
 *
 * p50 and max over the batches. Every socket is a client in this one Node
 * process, so the figures include this process reading 1,000 messages in
 * turn: an upper bound of what any one viewer waits.
 *
 *   npm run bench:fanout [-- --sockets 1000 --batches 30]
 */
import { parseArgs } from "node:util";
import type { IngestEventInput } from "../protocol";
import { openLive, type LiveClient } from "../test/support/live-client";
import { startLocalWorker } from "../test/support/local-worker";
import { percentile, report } from "./lib/report";

const { values: args } = parseArgs({
  options: {
    sockets: { type: "string", default: "1000" },
    batches: { type: "string", default: "30" },
  },
});
const socketCount = Number(args.sockets);
const batches = Number(args.batches);
const GOAL_MS = 50;
const LOCATION = "Fanout";

const worker = await startLocalWorker();
const clients: LiveClient[] = [];
try {
  const ingest = async (event: IngestEventInput): Promise<void> => {
    const response = await fetch(`${worker.url}/api/v1/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [event] }),
    });
    if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  };
  const event = (i: number): IngestEventInput => ({
    id: `fanout-${process.pid}-${i}`,
    deviceId: `dev-${i % 5}`,
    location: LOCATION,
    occurredAt: new Date().toISOString(),
    vote: 1, // happy: no rule fires, so each batch is exactly one frame of one event
  });
  await ingest(event(0));

  // Per event id: when each socket received it (performance.now() and Date.now()).
  const arrivals = new Map<string, { perf: number[]; wall: number[] }>();
  const opened = performance.now();
  for (let i = 0; i < socketCount; i += 50) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(50, socketCount - i) }, () =>
        openLive(worker.url, LOCATION, {
          timeoutMs: 60_000,
          onEvents: (frame, receivedAt, wall) => {
            for (const e of frame.events) {
              const seen = arrivals.get(e.id) ?? { perf: [], wall: [] };
              seen.perf.push(receivedAt);
              seen.wall.push(wall);
              arrivals.set(e.id, seen);
            }
          },
        }),
      ),
    );
    clients.push(...chunk);
  }
  console.log(`${clients.length} sockets open in ${((performance.now() - opened) / 1000).toFixed(1)} s`);

  const fromStart: number[] = [];
  const fromCommit: number[] = [];
  const firstSocket: number[] = [];
  for (let b = 1; b <= batches; b++) {
    const e = event(b);
    const started = performance.now();
    await ingest(e);
    const deadline = Date.now() + 30_000;
    while ((arrivals.get(e.id)?.perf.length ?? 0) < socketCount) {
      if (Date.now() > deadline) throw new Error(`batch ${b}: ${arrivals.get(e.id)?.perf.length ?? 0} of ${socketCount} sockets got the frame in 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const seen = arrivals.get(e.id)!;
    const stored = clients[0]!.events.find((x) => x.id === e.id)!;
    fromStart.push(Math.max(...seen.perf) - started);
    firstSocket.push(Math.min(...seen.perf) - started);
    fromCommit.push(Math.max(...seen.wall) - Date.parse(stored.recordedAt));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const problems = clients.flatMap((c) => c.problems);
  if (problems.length > 0) throw new Error(`frames broke the contract: ${problems.slice(0, 3).join("; ")}`);

  const row = (measure: string, values: number[]) => ({ measure, p50: percentile(values, 50), max: Math.max(...values), goal: `≤ ${GOAL_MS}`, batches: values.length });
  report("fanout", [
    row(`ingest start → first of ${socketCount} sockets (ms)`, firstSocket),
    row(`ingest start → last of ${socketCount} sockets (ms)`, fromStart),
    row(`commit → last of ${socketCount} sockets (ms)`, fromCommit),
  ], { sockets: socketCount });
} finally {
  await Promise.all(clients.map((c) => c.close()));
  await worker.dispose();
}
