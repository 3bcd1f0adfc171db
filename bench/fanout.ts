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
 * Three rounds, one after the other on the same worker:
 * - `plain`, `runtime`: clients straight to the local runtime's own port, as
 *   a deployed worker serves them (no dev proxy in between). The worker
 *   declines per-message compression (`no_web_socket_compression`), so this
 *   is what every viewer gets, browsers included: the goal's figure;
 * - `plain`, `dev proxy`: the same through wrangler dev's proxy, a second
 *   local process every frame passes through;
 * - `deflate`, `dev proxy`: Node's WebSocket, which offers compression as
 *   browsers do. wrangler dev's own layers accept the offer whatever the
 *   worker says, so locally a browser's frames are compressed once per
 *   socket: what `npm start` users see, not what the deployed worker does.
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

// debug: wrangler then prints where the runtime itself listens (runtimeUrl).
const worker = await startLocalWorker({ logLevel: "debug" });
const runtime = worker.runtimeUrl();
if (!runtime) throw new Error(`wrangler dev did not print the runtime's address:\n${worker.output().slice(-2_000)}`);
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

/** Frames received by `plain` viewers and not yet checked: raw data, arrival (`performance.now()`, `Date.now()`), and where a problem goes. */
const unchecked: [data: WebSocket.RawData, isBinary: boolean, perf: number, wall: number, problems: string[]][] = [];
/** Checks the unchecked frames against the contract and records their events' arrivals. */
function checkArrived(arrivals: Arrivals): void {
  for (const [data, isBinary, perf, wall, problems] of unchecked.splice(0)) {
    const frame = liveFrame.safeParse(isBinary ? null : JSON.parse(String(data)));
    if (!frame.success) problems.push(frame.error.message.slice(0, 300));
    else if (frame.data.type === "events") record(arrivals, frame.data.events, perf, wall);
  }
}

/**
 * A viewer that offers no compression. After its snapshot, a message is only
 * stamped on arrival and queued: the batch loop checks the frames once as
 * many have arrived as sockets lack the batch, so one process's checks of
 * 999 frames are not counted as the last socket's wait.
 */
function openPlain(base: string): Promise<Viewer> {
  const url = `${base.replace(/^http/, "ws")}/api/v1/locations/${LOCATION}/live`;
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const problems: string[] = [];
  let live = false;
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("message", (data, isBinary) => {
      if (live) return void unchecked.push([data, isBinary, performance.now(), Date.now(), problems]);
      const frame = liveFrame.safeParse(isBinary ? null : JSON.parse(String(data)));
      if (!frame.success) return void reject(new Error(`the first frame broke the contract: ${frame.error.message.slice(0, 300)}`));
      if (frame.data.type !== "snapshot") return void reject(new Error(`the first frame was ${frame.data.type}, not the snapshot`));
      live = true;
      resolve({ problems, close: () => new Promise((done) => (socket.once("close", () => done()), socket.close(1000))) });
    });
  });
}

function openDeflate(base: string, arrivals: Arrivals): Promise<Viewer> {
  return openLive(base, LOCATION, {
    timeoutMs: 60_000,
    onEvents: (frame, perf, wall) => record(arrivals, frame.events, perf, wall),
  }).then((client) => ({ problems: client.problems as string[], close: () => client.close() }));
}

const ingest = async (base: string, event: IngestEventInput): Promise<void> => {
  const response = await fetch(`${base}/api/v1/ingest`, {
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
  await ingest(worker.url, event());
  const rounds = [
    { kind: "plain", path: "runtime", base: runtime },
    { kind: "plain", path: "dev proxy", base: worker.url },
    { kind: "deflate", path: "dev proxy", base: worker.url },
  ] as const;
  for (const { kind, path, base } of rounds) {
    const arrivals: Arrivals = new Map();
    const open = () => (kind === "plain" ? openPlain(base) : openDeflate(base, arrivals));
    const viewers: Viewer[] = [];
    try {
      const opened = performance.now();
      for (let i = 0; i < socketCount; i += 50) viewers.push(...(await Promise.all(Array.from({ length: Math.min(50, socketCount - i) }, open))));
      console.log(`${kind} via ${path}: ${viewers.length} sockets open in ${((performance.now() - opened) / 1000).toFixed(1)} s`);
      const fromStart: number[] = [];
      const fromCommit: number[] = [];
      const firstSocket: number[] = [];
      for (let b = 1; b <= batches; b++) {
        const e = event();
        const started = performance.now();
        await ingest(base, e);
        const deadline = Date.now() + 30_000;
        const lacking = () => socketCount - (arrivals.get(e.id)?.perf.length ?? 0);
        while (lacking() > 0) {
          if (Date.now() > deadline) throw new Error(`${kind} batch ${b}: ${socketCount - lacking()} of ${socketCount} sockets got the frame in 30 s`);
          // A window frame at a minute boundary can be among them: then the loop waits on.
          if (unchecked.length >= lacking()) checkArrived(arrivals);
          else await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const seen = arrivals.get(e.id)!;
        fromStart.push(Math.max(...seen.perf) - started);
        firstSocket.push(Math.min(...seen.perf) - started);
        fromCommit.push(Math.max(...seen.wall) - seen.recordedAt);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      checkArrived(arrivals);
      const problems = viewers.flatMap((v) => v.problems);
      if (problems.length > 0) throw new Error(`frames broke the contract: ${problems.slice(0, 3).join("; ")}`);
      const row = (measure: string, values: number[]) => ({ client: kind, path, measure, p50: percentile(values, 50), max: Math.max(...values), goal: `≤ ${GOAL_MS}`, batches: values.length });
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
