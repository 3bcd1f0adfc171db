/**
 * End-to-end latency: from an MQTT publish to the receipt of that event on a
 * dashboard's live socket (`/live`), through Debian's mosquitto, the bridge
 * (its CLI in a child process, default settings) and the worker under
 * wrangler dev.
 *
 * Devices (one MQTT connection each) publish QoS 1 at a fixed total rate,
 * spread over three locations; one live socket per location receives the
 * events. Each message carries a `$.mid`, and the publish instant is kept
 * here under it, so publish and receipt are timed on one clock. Per rate: a
 * warm-up (not measured), then a measured stretch, then a wait for the
 * stragglers; "lost" is what never arrived on a socket, and "not streamed"
 * how many log entries the sockets are behind their location's head (lost
 * but stored: the stream's fault; lost and not stored: the ingest path's).
 *
 * Where the time goes: every event carries `recordedAt`, the instant the
 * location's object committed it, so the latency splits into publish → commit
 * (broker, bridge intake and batching, the HTTP request up to the commit) and
 * commit → socket (the object's broadcast through wrangler dev's proxy).
 * The bridge's own /metrics add its requests: how many, how full, how long;
 * and the CPU each part used over the stretch (in cores, from /proc), with
 * the cores the machine gave a busy loop just before ("cores free") and its
 * load, shows whether the parts had the cores they needed.
 *
 *   npm run bench:e2e [-- --rates 100,1000 --seconds 15 --warmup 3 --devices 10 --set BATCH_LINGER_MS=5]
 *
 * `--set KEY=VALUE` (repeatable) passes a setting to the bridge, to compare
 * against the defaults; the JSON is then written as e2e-<settings>.json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import mqtt, { type MqttClient } from "mqtt";
import { scrape, spawnBridge, telemetry, waitHealthy, type BridgeProcess } from "../test/node/bridge-harness";
import { freePort } from "../test/support/free-port";
import { openLive, type LiveClient } from "../test/support/live-client";
import { startLocalWorker } from "../test/support/local-worker";
import { startMosquitto } from "../test/support/mosquitto";
import { createParts } from "../test/support/parts";
import { coresAvailable, coresUsed, treeCpu } from "./lib/cpu";
import { percentile, report } from "./lib/report";

const { values: args } = parseArgs({
  options: {
    rates: { type: "string", default: "100,1000" },
    seconds: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    devices: { type: "string", default: "10" },
    set: { type: "string", multiple: true, default: [] },
  },
});
const rates = args.rates.split(",").map(Number);
const seconds = Number(args.seconds);
const warmupSeconds = Number(args.warmup);
const deviceCount = Number(args.devices);
const settings = Object.fromEntries(
  args.set.map((s) => {
    const eq = s.indexOf("=");
    if (eq < 1) throw new Error(`--set wants KEY=VALUE, got "${s}"`);
    return [s.slice(0, eq), s.slice(eq + 1)];
  }),
);

const LOCATIONS = ["MTC", "Malvern", "Paoli"];
const VOTES = [0, 0.5, 1] as const;
/** How long to wait for the last messages of a measured stretch. */
const DRAIN_MS = 15_000;
const FLOOR = { rate: 1_000, p99Ms: 100 };

/** The parts whose CPU use is reported, by their command lines. */
function part(command: string): string | null {
  if (command.includes("mosquitto")) return "mosquitto";
  if (command.includes("happy-hub-bridge")) return "bridge";
  if (command.includes("workerd")) return "workerd";
  if (command.includes("wrangler")) return "wrangler";
  if (command.includes("bench/e2e.ts")) return "bench";
  return null;
}

/** One measured stretch at one rate. */
interface Phase {
  rate: number;
  published: number;
  /** ms, publish → receipt on the socket (performance.now on both ends). */
  latencies: number[];
  /** ms, publish → the object's commit (`recordedAt`; wall clocks, ms resolution). */
  toCommit: number[];
  /** ms, commit → receipt. */
  fromCommit: number[];
}

/** A message in flight: when it was published, and the stretch it counts in (none during warm-up). */
const inFlight = new Map<string, { at: number; wall: number; phase: Phase | null }>();
let publishErrors = 0;

function onEventsReceived(events: readonly { type: string; id: string; recordedAt: string }[], receivedAt: number): void {
  const wall = Date.now();
  for (const e of events) {
    if (e.type !== "reading") continue;
    const sent = inFlight.get(e.id);
    if (!sent) continue;
    inFlight.delete(e.id);
    if (!sent.phase) continue;
    const committed = Date.parse(e.recordedAt);
    sent.phase.latencies.push(receivedAt - sent.at);
    sent.phase.toCommit.push(committed - sent.wall);
    sent.phase.fromCommit.push(wall - committed);
  }
}

let counter = 0;
/** Publishes at `rate` messages/s for `forSeconds`, round-robin over the devices, timing each publish. */
async function publishFor(devices: readonly MqttClient[], rate: number, forSeconds: number, phase: Phase | null): Promise<void> {
  const started = performance.now();
  const total = Math.round(rate * forSeconds);
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const n = counter++;
      const message = telemetry(`bench-dev-${n % devices.length}`, `e2e-${n}`, LOCATIONS[n % devices.length % LOCATIONS.length]!, {
        vote: VOTES[n % 3],
        temperature: 20 + (n % 50) / 10,
        humidity: 30 + (n % 40),
        ts: new Date().toISOString(),
      });
      inFlight.set(`e2e-${n}`, { at: performance.now(), wall: Date.now(), phase });
      devices[n % devices.length]!.publish(message.topic, message.payload, { qos: 1 }, (error) => {
        if (error) publishErrors++;
      });
      if (phase) phase.published++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function drained(phase: Phase): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  while (phase.latencies.length < phase.published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** The bridge's request counters, to difference around a stretch. */
async function bridgeRequests(port: number, bridge: BridgeProcess) {
  const m = await scrape(port).catch((e: Error) => {
    throw new Error(`the bridge's /metrics did not answer (${e.message}); the bridge printed:\n${bridge.output().slice(-4_000)}`);
  });
  return {
    requests: m.get("bridge_send_duration_seconds_count") ?? 0,
    seconds: m.get("bridge_send_duration_seconds_sum") ?? 0,
    events: m.get("bridge_events_sent_total") ?? 0,
    retries: m.get("bridge_ingest_retries_total") ?? 0,
  };
}

const parts = createParts();
const rows: Record<string, string | number>[] = [];
try {
  const [broker, worker] = await parts.startAll([parts.start(startMosquitto(), (b) => b.stop()), parts.start(startLocalWorker(), (w) => w.dispose())]);
  const stateDir = mkdtempSync(join(tmpdir(), "bench-e2e-bridge-"));
  parts.add(async () => rmSync(stateDir, { recursive: true, force: true }));
  const httpPort = await freePort();
  const bridge = spawnBridge({
    MQTT_URL: broker.url,
    INGEST_URL: `${worker.url}/api/v1/ingest`,
    INGEST_TOKEN: worker.ingestToken,
    BRIDGE_STATE_DIR: stateDir,
    MQTT_CLIENT_ID: `bench-e2e-bridge-${process.pid}`,
    BRIDGE_HTTP_PORT: String(httpPort),
    LOG_LEVEL: "warn",
    ...settings,
  });
  parts.add(() => bridge.kill("SIGTERM"));
  await waitHealthy(httpPort, bridge);

  const devices = await Promise.all(
    Array.from({ length: deviceCount }, (_, i) =>
      parts.start(mqtt.connectAsync(broker.url, { clientId: `bench-dev-${i}`, reconnectPeriod: 0 }), (d) => d.endAsync()),
    ),
  );
  const sockets = new Map<string, LiveClient>();
  for (const location of LOCATIONS) {
    sockets.set(location, await parts.start(openLive(worker.url, location, { onEvents: (frame, at) => onEventsReceived(frame.events, at) }), (s) => s.close()));
  }
  /** Log entries the sockets have not (yet) received: what is stored but was not streamed. */
  const streamBehind = async () => {
    let behind = 0;
    for (const [location, socket] of sockets) {
      const { head } = (await (await fetch(`${worker.url}/api/v1/locations/${location}`)).json()) as { head: number };
      behind += head - (socket.events.at(-1)?.seq ?? socket.snapshot.head);
      // wrangler dev restarts the worker when a file it watches changes (a dashboard build, .dev.vars): every socket drops with 1006.
      if (socket.closedWith) console.log(`the ${location} socket was closed (${JSON.stringify(socket.closedWith)}): this run's figures are void`);
      if (socket.problems.length) console.log(`the ${location} socket received bad frames: ${socket.problems.slice(0, 3).join("; ")}`);
    }
    return behind;
  };

  console.log(`bridge settings: ${Object.keys(settings).length ? JSON.stringify(settings) : "defaults"}; ${deviceCount} devices, ${LOCATIONS.length} locations`);
  for (const rate of rates) {
    // Measured while the stack idles, just before the run.
    const free = await coresAvailable();
    console.log(`${rate} msg/s: the machine gives ${free.toFixed(2)} of ${cpus().length} cores; ${warmupSeconds} s warm-up, then ${seconds} s measured…`);
    await publishFor(devices, rate, warmupSeconds, null);
    const phase: Phase = { rate, published: 0, latencies: [], toCommit: [], fromCommit: [] };
    const before = await bridgeRequests(httpPort, bridge);
    const cpuBefore = treeCpu();
    const startedAt = performance.now();
    await publishFor(devices, rate, seconds, phase);
    const cpu = coresUsed(cpuBefore, treeCpu(), (performance.now() - startedAt) / 1000, part);
    const load = loadavg()[0]!;
    await drained(phase);
    const after = await bridgeRequests(httpPort, bridge);
    const behind = await streamBehind();
    const requests = after.requests - before.requests;
    const ms = (values: number[], p: number) => percentile(values, p);
    rows.push({
      "msg/s": rate,
      published: phase.published,
      count: phase.latencies.length,
      lost: phase.published - phase.latencies.length,
      "not streamed": behind,
      "p50 ms": ms(phase.latencies, 50),
      "p95 ms": ms(phase.latencies, 95),
      "p99 ms": ms(phase.latencies, 99),
      "max ms": Math.max(...phase.latencies),
      "→commit p50": ms(phase.toCommit, 50),
      "→commit p99": ms(phase.toCommit, 99),
      "commit→ws p50": ms(phase.fromCommit, 50),
      "commit→ws p99": ms(phase.fromCommit, 99),
      requests,
      "events/req": requests ? (after.events - before.events) / requests : 0,
      "req ms mean": requests ? ((after.seconds - before.seconds) / requests) * 1000 : 0,
      retries: after.retries - before.retries,
      ...Object.fromEntries(["bench", "mosquitto", "bridge", "workerd", "wrangler"].map((name) => [`cpu ${name}`, cpu[name] ?? 0])),
      "load 1m": load,
      "cores free": free,
    });
  }
  if (publishErrors) console.log(`publish errors: ${publishErrors}`);
  report(Object.keys(settings).length ? `e2e-${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(",")}` : "e2e", rows, {
    settings: Object.keys(settings).length ? settings : "defaults",
    seconds,
    warmupSeconds,
    devices: deviceCount,
    locations: LOCATIONS.length,
  });
  const atFloor = rows.find((r) => r["msg/s"] === FLOOR.rate);
  if (atFloor) {
    const p99 = atFloor["p99 ms"] as number;
    console.log(`floor (p99 ≤ ${FLOOR.p99Ms} ms at ${FLOOR.rate} msg/s): ${p99 <= FLOOR.p99Ms && atFloor.lost === 0 ? "met" : "MISSED"} (p99 ${p99.toFixed(1)} ms, lost ${atFloor.lost})`);
  }
} finally {
  await parts.stopAll();
}
