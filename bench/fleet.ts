/**
 * The fleet view through the real local runtime (wrangler dev): 200
 * locations with data and the overview's one fleet socket open
 * (`GET /api/v1/fleet/live`, as the dashboard opens it).
 *
 * - overview update latency: one event to a random location (a single-event
 *   ingest, as a real fleet arrives), timed from the request's start (and
 *   from its answer) to the fleet socket's `changes` frame carrying that
 *   location's new head. Rounds are spaced past the coalescing window, so
 *   each pays it once, as a lone change does.
 * - a burst: one event at every location at once; time until the fleet
 *   socket has each location's change, and in how many `changes` frames.
 *   (Locally, 200 concurrent ingests queue in the runtime whether or not the
 *   fleet is involved: most of this is the ingests' own wait.)
 *
 * - with a bridge on an embedded broker (its commands socket open) and the
 *   fleet socket still open: worker requests during an idle window (wrangler
 *   dev logs one line per request; counted), and the locations' alarms in
 *   that window (from their stats: the minute their readings age, nothing
 *   else);
 * - sad-vote → device command latency: a device publishes three sad votes
 *   over MQTT; timed from the broker's PUBACK of the third to the "ON" on its
 *   devicebound topic (bridge → worker → location → rule → commands hub →
 *   bridge → broker → device).
 *
 *   npm run bench:fleet [-- --locations 200 --rounds 100 --idle-seconds 60 --command-rounds 20]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fleetFrame, type FleetSummary, type IngestEventInput, type IngestResponse } from "../protocol";
import { startEmbeddedBroker } from "../scripts/lib/embedded-broker";
import { spawnBridge, startTestDevice, waitFor, waitHealthy } from "../test/node/bridge-harness";
import { freePort } from "../test/support/free-port";
import { startLocalWorker } from "../test/support/local-worker";
import { percentile, report } from "./lib/report";

const { values: args } = parseArgs({
  options: {
    locations: { type: "string", default: "200" },
    rounds: { type: "string", default: "100" },
    "idle-seconds": { type: "string", default: "60" },
    "command-rounds": { type: "string", default: "20" },
  },
});
const locationCount = Number(args.locations);
const rounds = Number(args.rounds);
const idleSeconds = Number(args["idle-seconds"]);
const commandRounds = Number(args["command-rounds"]);

const names = Array.from({ length: locationCount }, (_, i) => `Store ${String(i).padStart(3, "0")}`);
let counter = 0;
const event = (location: string): IngestEventInput => ({
  id: `fleet-bench-${process.pid}-${++counter}`,
  deviceId: `dev-${counter % 4}`,
  location,
  occurredAt: new Date().toISOString(),
  vote: ([1, 0.5, 0] as const)[counter % 3],
  temperature: 21,
  humidity: 40,
});

const worker = await startLocalWorker({ logLevel: "info" });
const broker = await startEmbeddedBroker({ port: await freePort() });
const bridgeState = mkdtempSync(join(tmpdir(), "bench-fleet-bridge-"));
const bridgePort = await freePort();
const bridge = spawnBridge({
  MQTT_URL: broker.url,
  MQTT_CLIENT_ID: `bench-fleet-${process.pid}`,
  INGEST_URL: `${worker.url}/api/v1/ingest`,
  INGEST_TOKEN: worker.ingestToken,
  BRIDGE_STATE_DIR: bridgeState,
  BRIDGE_HTTP_PORT: String(bridgePort),
});
/** wrangler dev's request lines (`[wrangler:info] GET /api/v1/… 200 OK (3ms)`). */
const requestLines = () => worker.output().split("\n").filter((l) => /\[wrangler:info\] (GET|POST|PUT|DELETE|PATCH|HEAD) \//.test(l));
try {
  await waitHealthy(bridgePort, bridge);
  await waitFor(
    "the bridge's commands socket",
    async () => ((await (await fetch(`http://127.0.0.1:${bridgePort}/healthz`)).json()) as { commands: { connected: boolean } }).commands.connected,
    30_000,
  );
  const ingest = async (events: IngestEventInput[]): Promise<IngestResponse> => {
    const response = await fetch(`${worker.url}/api/v1/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
    if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as IngestResponse;
  };

  // Every location gets a few events before the socket opens.
  for (let i = 0; i < names.length; i += 50) await ingest(names.slice(i, i + 50).flatMap((n) => [event(n), event(n), event(n)]));

  // The overview's socket: every frame checked against the contract, each change kept with its arrival time.
  const socket = new WebSocket(`${worker.url.replace(/^http/, "ws")}/api/v1/fleet/live`);
  const heads = new Map<string, number>();
  const waiters: { location: string; head: number; resolve: (at: number) => void }[] = [];
  let changeFrames = 0;
  let changedSummaries = 0;
  const snapshotDone = new Promise<void>((resolve, reject) => {
    socket.addEventListener("error", () => reject(new Error("fleet socket failed")));
    socket.addEventListener("message", (message) => {
      const at = performance.now();
      const frame = fleetFrame.parse(JSON.parse(String(message.data)));
      if (frame.type === "changes") {
        changeFrames++;
        changedSummaries += frame.locations.length;
      }
      for (const s of frame.locations as FleetSummary[]) heads.set(s.location, Math.max(heads.get(s.location) ?? 0, s.head));
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if ((heads.get(w.location) ?? 0) >= w.head) {
          waiters.splice(i, 1);
          w.resolve(at);
        }
      }
      if (frame.type === "snapshot" && frame.part === frame.parts) resolve();
    });
  });
  await snapshotDone;
  const inSnapshot = names.filter((n) => heads.has(n)).length;
  if (inSnapshot !== names.length) throw new Error(`snapshot held ${inSnapshot} of ${names.length} locations`);
  const seen = (location: string, head: number) =>
    new Promise<number>((resolve, reject) => {
      if ((heads.get(location) ?? 0) >= head) return resolve(performance.now());
      const timer = setTimeout(() => reject(new Error(`no change for ${location} head ${head} within 60 s (the socket has ${heads.get(location)})`)), 60_000);
      waiters.push({ location, head, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  const headOf = new Map(names.map((n) => [n, heads.get(n)!]));

  // 1. One change at a time.
  const fromStart: number[] = [];
  const fromAnswer: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const location = names[Math.floor(Math.random() * names.length)]!;
    const head = headOf.get(location)! + 1;
    headOf.set(location, head);
    const started = performance.now();
    const arrival = seen(location, head);
    await ingest([event(location)]);
    const answered = performance.now();
    const at = await arrival;
    fromStart.push(at - started);
    fromAnswer.push(at - answered);
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the coalescing window
  }

  // 2. A burst: every location at once.
  const framesBefore = changeFrames;
  const burstStart = performance.now();
  const perLocation = await Promise.all(
    names.map(async (n) => {
      const head = headOf.get(n)! + 1;
      headOf.set(n, head);
      const arrival = seen(n, head);
      const started = performance.now();
      await ingest([event(n)]);
      return (await arrival) - started;
    }),
  );
  const burstDone = performance.now() - burstStart;
  const burstFrames = changeFrames - framesBefore;

  // 3. Sad votes to a device's command, through the bridge.
  const commandMs: number[] = [];
  for (let r = 0; r < commandRounds; r++) {
    const device = await startTestDevice(broker.url, `bench-led-${process.pid}-${r}`, names[r % names.length]!);
    try {
      const pubacked = await device.vote(0, 3);
      await waitFor(`"ON" for round ${r}`, () => device.received.length > 0, 30_000, 2);
      commandMs.push(device.received[0]!.at - pubacked);
    } finally {
      await device.client.endAsync();
    }
  }

  // 4. Idle: nothing happens; the bridge's commands socket and the overview's fleet socket stay open.
  // A location's object wakes by itself only for what time changes: its
  // window aging (each minute while it holds readings), which it tells the
  // fleet. So every idle alarm shows on the fleet socket as that location's
  // summary in a `changes` frame: counted there, without calling any object.
  await new Promise((r) => setTimeout(r, 2_000)); // let the command rounds' lines and frames land before the window
  const linesBefore = requestLines().length;
  const summariesBefore = changedSummaries;
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idleLines = requestLines().slice(linesBefore);
  const idleAlarms = changedSummaries - summariesBefore;
  socket.close(1000);

  const rows = [
    { measure: "overview update, ingest start → fleet frame", unit: "ms", p50: percentile(fromStart, 50), p99: percentile(fromStart, 99), max: Math.max(...fromStart), n: fromStart.length },
    { measure: "overview update, ingest answer → fleet frame", unit: "ms", p50: percentile(fromAnswer, 50), p99: percentile(fromAnswer, 99), max: Math.max(...fromAnswer), n: fromAnswer.length },
    { measure: `burst of ${names.length} at once: each ingest start → fleet frame`, unit: "ms", p50: percentile(perLocation, 50), p99: percentile(perLocation, 99), max: Math.max(...perLocation), n: perLocation.length },
    { measure: "sad vote (3rd PUBACK) → device command", unit: "ms", p50: percentile(commandMs, 50), p99: percentile(commandMs, 99), max: Math.max(...commandMs), n: commandMs.length },
    { measure: `idle ${idleSeconds} s: worker requests per minute`, unit: "req/min", p50: (idleLines.length * 60) / idleSeconds, p99: NaN, max: NaN, n: idleLines.length },
    { measure: `idle ${idleSeconds} s: location summaries aged by alarm per minute`, unit: "/min", p50: (idleAlarms * 60) / idleSeconds, p99: NaN, max: NaN, n: idleAlarms },
  ];
  report("fleet", rows, {
    locations: names.length,
    rounds,
    burstFrames,
    burstMs: burstDone,
    idleSeconds,
    idleRequestLines: idleLines,
    idleAlarms,
    commandRounds,
  });
  console.log(`burst: ${names.length} locations in ${burstFrames} changes frame(s), ${burstDone.toFixed(0)} ms from the first ingest sent to the last change seen`);
  console.log(`idle ${idleSeconds} s: ${idleLines.length} worker request(s)${idleLines.length ? `:\n${idleLines.join("\n")}` : ""}; ${idleAlarms} location summaries aged by alarm`);
} catch (error) {
  console.error(worker.output().split("\n").filter((l) => /error|fail/i.test(l)).slice(-20).join("\n"));
  console.error(bridge.output().split("\n").slice(-20).join("\n"));
  throw error;
} finally {
  await bridge.kill("SIGTERM");
  await broker.stop();
  await worker.dispose();
  rmSync(bridgeState, { recursive: true, force: true });
}
