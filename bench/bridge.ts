/**
 * Bridge throughput: mosquitto → bridge → the worker in the local runtime
 * (wrangler dev), with the bridge run as its CLI in a child process so that
 * its own peak RSS (VmHWM) can be read.
 *
 * Two scenarios, each with a fresh bridge (state dir, client id):
 * - live: a publisher sends the messages as fast as mosquitto takes them
 *   while the bridge consumes; the clock runs from the first publish to the
 *   worker's acknowledgement of the last message;
 * - backlog: the messages are queued in mosquitto for the bridge's
 *   persistent session while it is stopped; the clock runs from its start to
 *   the last acknowledgement.
 * "steady msg/s" is the rate between 10 % and 90 % acknowledged (no warm-up
 * or tail); "bridge CPU µs/msg" is the bridge process's own CPU time per
 * message (so 1e6 / it is what one core could carry, whatever else runs on
 * the machine). Every run checks that the worker acknowledged each message once.
 *
 *   npm run bench:bridge [-- --messages 100000 --devices 100]
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../test/support/free-port";
import { startLocalWorker } from "../test/support/local-worker";
import { startMosquitto } from "../test/support/mosquitto";
import { publishAll, scrape, spawnBridge, telemetry, waitFor, waitHealthy, type BridgeProcess } from "../test/node/bridge-harness";
import { report } from "./lib/report";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    devices: { type: "string", default: "100" },
  },
});
const total = Number(args.messages);
const devices = Number(args.devices);
const LOCATIONS = ["MTC", "Malvern", "Paoli"];
const VOTES = [0, 0.5, 1] as const;

/** CPU seconds (user + system) a process has used, from /proc (Linux; clock ticks are 1/100 s). */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** Peak resident set of a process, from /proc (Linux). */
const peakRssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? NaN) / 1024;
};

const worker = await startLocalWorker();
// Deployed as docs/BRIDGE.md advises: a deep queue for the bridge's session and more than mosquitto's
// default 20 unacknowledged messages in flight to it (the bridge acknowledges a whole turn's messages at once).
const broker = await startMosquitto({ maxQueuedMessages: 1_000_000, extraConfig: "max_inflight_messages 1000" });
const rows: Record<string, string | number>[] = [];
try {
  for (const scenario of ["live", "backlog"] as const) {
    const run = `${scenario}-${Date.now()}`;
    const messages = Array.from({ length: total }, (_, i) =>
      telemetry(`bench-${i % devices}`, `${run}-${i}`, LOCATIONS[i % LOCATIONS.length]!, {
        vote: VOTES[i % 3],
        temperature: 20 + (i % 50) / 10,
        humidity: 30 + (i % 40),
      }),
    );
    const httpPort = await freePort();
    const env = {
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `bench-bridge-${run}`,
      INGEST_URL: `${worker.url}/api/v1/ingest`,
      INGEST_TOKEN: worker.ingestToken,
      BRIDGE_STATE_DIR: mkdtempSync(join(tmpdir(), "bench-bridge-")),
      BRIDGE_HTTP_PORT: String(httpPort),
      LOG_LEVEL: "warn",
    };
    const start = async () => {
      const b = spawnBridge(env);
      await waitHealthy(httpPort, b);
      return b;
    };
    const handled = async () => {
      const m = await scrape(httpPort);
      return (m.get("bridge_events_acknowledged_total") ?? 0) + (m.get("bridge_events_duplicate_total") ?? 0);
    };

    let bridge: BridgeProcess;
    if (scenario === "backlog") {
      // Subscribe once so mosquitto keeps a session, then queue everything while the bridge is away.
      bridge = await start();
      await bridge.kill("SIGTERM");
      await publishAll(broker.url, messages);
    }
    const samples: { at: number; n: number }[] = [];
    let started = performance.now();
    if (scenario === "backlog") {
      started = performance.now();
      bridge = await start();
    } else {
      bridge = await start();
      started = performance.now();
      void publishAll(broker.url, messages);
    }
    const cpuBefore = cpuSeconds(bridge.child.pid!);
    await waitFor(
      `${total} acknowledged (${scenario})`,
      async () => {
        const n = await handled();
        samples.push({ at: performance.now(), n });
        return n >= total;
      },
      600_000,
      50,
    );
    const seconds = (samples[samples.length - 1]!.at - started) / 1000;
    const at = (share: number) => samples.find((s) => s.n >= total * share)!;
    const [p10, p90] = [at(0.1), at(0.9)];
    const steady = (p90.n - p10.n) / ((p90.at - p10.at) / 1000);
    const m = await scrape(httpPort);
    const rss = peakRssMb(bridge!.child.pid!);
    const cpuPerMessageUs = ((cpuSeconds(bridge!.child.pid!) - cpuBefore) / total) * 1e6;
    await bridge!.kill("SIGTERM");
    rows.push({
      scenario,
      messages: total,
      seconds,
      "msg/s": Math.round(total / seconds),
      "steady msg/s": Math.round(steady),
      "peak RSS MB": Math.round(rss),
      "bridge CPU µs/msg": Math.round(cpuPerMessageUs),
      requests: m.get('bridge_ingest_requests_total{status="200"}') ?? 0,
      "stored once": m.get("bridge_events_acknowledged_total") === total && (m.get("bridge_events_duplicate_total") ?? 0) === 0 ? "yes" : "NO",
      "dead letters": [...m].filter(([k]) => k.startsWith("bridge_dead_letters_total")).reduce((s, [, v]) => s + v, 0),
    });
  }
  report("bridge", rows, { floor: { "msg/s": 10_000, "peak RSS MB": 200 }, devices, broker: "mosquitto 2 (Debian), max_queued_messages 1000000, max_inflight_messages 1000" });
} finally {
  await broker.stop();
  await worker.dispose();
}
