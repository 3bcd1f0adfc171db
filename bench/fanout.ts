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
 * Two kinds of client, one after the other on the same worker:
 * - `deflate`: Node's WebSocket, which offers per-message compression as
 *   browsers do; the runtime then compresses every frame once per socket;
 * - `plain`: a client that offers no compression (`ws` with
 *   perMessageDeflate off), as a kiosk or an embedded viewer may.
 *
 *   npm run bench:fanout [-- --sockets 1000 --batches 30]
 */
import { parseArgs } from "node:util";
import type { IngestEventInput } from "../protocol";
import WebSocket from "ws";
import { liveFrame } from "../protocol/live";
import { openLive } from "../test/support/live-client";
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
/** One socket: how to close it, and the contract problems it saw. */
interface Viewer {
  close(): Promise<void>;
  problems: string[];
}
/** Per event id: its commit time (`recordedAt`, stamped by the location's object) and when each socket received it. */
type Arrivals = Map<string, { recordedAt: number; perf: number[]; wall: number[] }>;
const record = (arrivals: Arrivals, events: readonly { id: string; recordedAt: string }[], perf: number, wall: number) => {
  for (const { id, recordedAt } of events) {
    const seen = arrivals.get(id) ?? { recordedAt: Date.parse(recordedAt), perf: [], wall: [] };
    seen.perf.push(perf);
    seen.wall.push(wall);
    arrivals.set(id, seen);
  }
};

/** A viewer that offers no compression: arrival stamped first, the frame checked against the contract on a later turn. */
function openPlain(arrivals: Arrivals): Promise<Viewer> {
  const url = `${worker.url.replace(/^http/, "ws")}/api/v1/locations/${LOCATION}/live`;
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const problems: string[] = [];
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("message", (data, isBinary) => {
      const perf = performance.now();
      const wall = Date.now();
      setImmediate(() => {
        const frame = liveFrame.safeParse(isBinary ? null : JSON.parse(String(data)));
        if (!frame.success) return void problems.push(frame.error.message.slice(0, 300));
        if (frame.data.type === "snapshot") resolve({ problems, close: () => new Promise((done) => (socket.once("close", () => done()), socket.close(1000))) });
        if (frame.data.type === "events") record(arrivals, frame.data.events, perf, wall);
      });
    });
  });
}

function openDeflate(arrivals: Arrivals): Promise<Viewer> {
  return openLive(worker.url, LOCATION, {
    timeoutMs: 60_000,
    onEvents: (frame, perf, wall) => record(arrivals, frame.events, perf, wall),
  }).then((client) => ({ problems: client.problems as string[], close: () => client.close() }));
}

const ingest = async (event: IngestEventInput): Promise<void> => {
  const response = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [event] }),
  });
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
};
let n = 0;
const event = (): IngestEventInput => ({
  id: `fanout-${process.pid}-${++n}`,
  deviceId: `dev-${n % 5}`,
  location: LOCATION,
  occurredAt: new Date().toISOString(),
  vote: 1, // happy: no rule fires, so each batch is exactly one frame of one event
});

const rows: Record<string, string | number>[] = [];
try {
  await ingest(event());
  for (const [kind, open] of [["deflate", openDeflate], ["plain", openPlain]] as const) {
    const arrivals: Arrivals = new Map();
    const viewers: Viewer[] = [];
    try {
      const opened = performance.now();
      for (let i = 0; i < socketCount; i += 50) viewers.push(...(await Promise.all(Array.from({ length: Math.min(50, socketCount - i) }, () => open(arrivals)))));
      console.log(`${kind}: ${viewers.length} sockets open in ${((performance.now() - opened) / 1000).toFixed(1)} s`);
      const fromStart: number[] = [];
      const fromCommit: number[] = [];
      const firstSocket: number[] = [];
      for (let b = 1; b <= batches; b++) {
        const e = event();
        const started = performance.now();
        await ingest(e);
        const deadline = Date.now() + 30_000;
        while ((arrivals.get(e.id)?.perf.length ?? 0) < socketCount) {
          if (Date.now() > deadline) throw new Error(`${kind} batch ${b}: ${arrivals.get(e.id)?.perf.length ?? 0} of ${socketCount} sockets got the frame in 30 s`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const seen = arrivals.get(e.id)!;
        fromStart.push(Math.max(...seen.perf) - started);
        firstSocket.push(Math.min(...seen.perf) - started);
        fromCommit.push(Math.max(...seen.wall) - seen.recordedAt);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const problems = viewers.flatMap((v) => v.problems);
      if (problems.length > 0) throw new Error(`frames broke the contract: ${problems.slice(0, 3).join("; ")}`);
      const row = (measure: string, values: number[]) => ({ client: kind, measure, p50: percentile(values, 50), max: Math.max(...values), goal: `≤ ${GOAL_MS}`, batches: values.length });
      rows.push(
        row(`ingest start → first of ${socketCount} sockets (ms)`, firstSocket),
        row(`ingest start → last of ${socketCount} sockets (ms)`, fromStart),
        row(`commit → last of ${socketCount} sockets (ms)`, fromCommit),
      );
    } finally {
      await Promise.all(viewers.map((v) => v.close()));
    }
  }
  report("fanout", rows, { sockets: socketCount });
} finally {
  await worker.dispose();
}
