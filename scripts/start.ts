/**
 * `npm start`: the whole system on this machine, on embedded defaults.
 *
 *   dashboard build, beside the worker (wrangler dev, state in .wrangler/state)
 *   → embedded MQTT broker (unless MQTT_URL points elsewhere) → bridge
 *   → on a new state, 14 days of the simulated devices' history (ingest),
 *     then each site's daily digest at DIGEST_AT (07:00) local
 *   → simulated devices
 *   → a local webhook receiver, registered as the notification channel
 *     `local-receiver` for MTC's alerts and digest when no other channel is set
 *
 * Ctrl-C (SIGINT/SIGTERM) stops every part, the bridge flushing its outbox
 * first, the webhook receiver after the worker (which may be sending to it). Logs go to .state/logs/<part>.log; the bridge's outbox to
 * .state/bridge (STATE_DIR moves both). A second start continues with the
 * data of the first and back-fills nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { z } from "zod";
import { clock } from "../protocol/settings";
import { backfill, needsBackfill, parseBackfillOptions } from "../simulator/backfill";
import { putSiteSettings } from "../simulator/site-settings";
import { ensureDevVars } from "./lib/dev-vars";
import { freePort } from "./lib/free-port";
import { startEmbeddedBroker, type EmbeddedBroker } from "./lib/embedded-broker";
import { startWebhookReceiver, type WebhookReceiver } from "./lib/webhook-receiver";
import { ROOT, spawnWranglerDev, stopProcessGroup, waitForHealth } from "./lib/wrangler-dev";

const port = (name: string, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a port number`)
    .transform(Number)
    .pipe(z.number().int().min(1, `${name} must be 1–65535`).max(65535, `${name} must be 1–65535`))
    .default(fallback);

const settings = z.object({
  PORT: port("PORT", 8787),
  MQTT_PORT: port("MQTT_PORT", 1883),
  /** An external broker; when set, no embedded broker is started. */
  MQTT_URL: z.string().url("MQTT_URL must be a URL like mqtt://host:1883").optional(),
  /** `false` starts no simulated devices (use your own). */
  SIMULATE: z.enum(["true", "false"], { error: "SIMULATE must be true or false" }).default("true"),
  BRIDGE_HTTP_PORT: port("BRIDGE_HTTP_PORT", 9464),
  /** The local webhook receiver's port (notifications land there). */
  RECEIVER_PORT: port("RECEIVER_PORT", 8790),
  /** Local time of the simulated sites' daily digest, set once their history is back-filled. */
  DIGEST_AT: clock("DIGEST_AT", false).default("07:00"),
  /** Days of history posted on a new state (0: none). */
  BACKFILL_DAYS: z
    .string()
    .regex(/^\d+$/, "BACKFILL_DAYS must be a whole number of days")
    .transform(Number)
    .pipe(z.number().max(90, "BACKFILL_DAYS must be 0–90"))
    .default(14),
  /** Where the logs, the bridge's outbox and the back-fill marker live. */
  STATE_DIR: z.string().min(1, "STATE_DIR must not be empty").default(".state"),
  /** The worker's local state (its Durable Objects' SQLite files). */
  WORKER_STATE_DIR: z.string().min(1, "WORKER_STATE_DIR must not be empty").default(".wrangler/state"),
});

const parsed = settings.safeParse(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues) console.error(`npm start: ${issue.message}`);
  process.exit(2);
}
const config = parsed.data;

const STATE = resolve(ROOT, config.STATE_DIR);
const LOGS = join(STATE, "logs");
mkdirSync(LOGS, { recursive: true });
const logFile = (part: string) => join(LOGS, `${part}.log`);

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string): never => {
  process.stderr.write(`npm start: ${line}\n`);
  process.exit(1);
};

/** Fails early, naming the variable, when a port is taken. */
async function assertPortFree(portNumber: number, variable: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) =>
      fail(
        e.code === "EADDRINUSE"
          ? `port ${portNumber} (${variable}) is already in use. Stop what uses it, or choose another: ${variable}=<port> npm start`
          : `cannot listen on port ${portNumber} (${variable}): ${e.message}`,
      ),
    );
    server.listen(portNumber, "127.0.0.1", () => server.close(() => resolve()));
  });
}

/** The notification channel `npm start` owns; it is (re)set on each start unless other channels are configured. */
const LOCAL_CHANNEL = "local-receiver";

const children: { name: string; child: ChildProcess }[] = [];
let broker: EmbeddedBroker | null = null;
let receiver: WebhookReceiver | null = null;
let stopping = false;

/** Runs a part with its output in .state/logs/<name>.log; a part that dies takes the stack down. */
function runPart(name: string, command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const fd = openSync(logFile(name), "a");
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  watch(name, child);
  return child;
}

function watch(name: string, child: ChildProcess): void {
  children.push({ name, child });
  child.once("exit", (code, signal) => {
    if (stopping) return;
    const tail = readFileSync(logFile(name), "utf8").split("\n").slice(-15).join("\n");
    process.stderr.write(`\nnpm start: ${name} stopped (${signal ?? `exit ${code}`}). Last lines of ${logFile(name)}:\n${tail}\n`);
    void shutdown(1);
  });
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say("\nStopping…");
  // Devices first, then the bridge (it flushes its outbox), then the worker, then the webhook receiver, then the broker.
  for (const { name, child } of [...children].reverse()) {
    await stopProcessGroup(child, name === "bridge" ? 15_000 : 5_000);
  }
  await receiver?.stop();
  await broker?.stop();
  say("Stopped.");
  process.exit(code);
}
/** Like `fail`, once parts are running: stops them first. */
async function failRunning(line: string): Promise<never> {
  process.stderr.write(`npm start: ${line}\n`);
  await shutdown(1);
  return process.exit(1);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

const npmBin = (tool: string) => join(ROOT, "node_modules/.bin", tool);
const workerUrl = `http://127.0.0.1:${config.PORT}`;

await assertPortFree(config.PORT, "PORT");
if (!config.MQTT_URL) await assertPortFree(config.MQTT_PORT, "MQTT_PORT");
await assertPortFree(config.BRIDGE_HTTP_PORT, "BRIDGE_HTTP_PORT");
await assertPortFree(config.RECEIVER_PORT, "RECEIVER_PORT");

const secrets = ensureDevVars(join(ROOT, ".dev.vars"));
if (secrets.created.length) say(`Created .dev.vars with new ${secrets.created.join(" and ")}.`);

// The build and the worker's start overlap (the worker serves whatever the assets directory holds when asked, so it
// may start before the files are there); both must be done before the dashboard is announced.
say(`Building the dashboard and starting the worker on ${workerUrl}…`);
mkdirSync(join(ROOT, "dist/dashboard"), { recursive: true });
// NODE_ENV=production: a production build even when started by a test runner (NODE_ENV=test builds development code).
const build = spawn(npmBin("vite"), ["build", "--config", "dashboard/vite.config.ts", "--logLevel", "warn"], {
  cwd: ROOT,
  stdio: "inherit",
  env: { ...process.env, NODE_ENV: "production" },
});
const built = new Promise<number | null>((resolve) => build.once("exit", resolve));
const workerLog = openSync(logFile("worker"), "a");
const worker = spawnWranglerDev({
  port: config.PORT,
  inspectorPort: await freePort(),
  persistDir: resolve(ROOT, config.WORKER_STATE_DIR),
  stdio: workerLog,
});
closeSync(workerLog);
watch("worker", worker);
await waitForHealth(workerUrl, worker, 90_000, () => readFileSync(logFile("worker"), "utf8")).catch((e: Error) => failRunning(e.message));
if ((await built) !== 0) await failRunning("the dashboard did not build (see above)");

// The local webhook receiver: every delivery printed with whether its signature verifies.
receiver = await startWebhookReceiver({
  port: config.RECEIVER_PORT,
  onDelivery: (d) => {
    let text = "";
    try {
      text = String((JSON.parse(d.body) as { text?: unknown }).text ?? "");
    } catch {
      text = "(body is not JSON)";
    }
    say(`webhook ${d.id}  signature ${d.verified ? "verified" : "DOES NOT VERIFY"}  ${text}`);
  },
}).catch((e: Error) => failRunning(`cannot start the webhook receiver: ${e.message}`));
// Registered while the rest starts (it is two requests to the worker, and nothing waits on it but the banner).
const registered = registerLocalReceiver(receiver).catch((e: Error) => failRunning(`cannot register the webhook receiver: ${e.message}`));

// The broker and the bridge start while the history is posted: they carry nothing until devices publish.
let mqttUrl = config.MQTT_URL;
if (!mqttUrl) {
  broker = await startEmbeddedBroker({ port: config.MQTT_PORT });
  mqttUrl = broker.url;
}

const tsx = npmBin("tsx");
runPart("bridge", tsx, ["--max-old-space-size=96", "bridge/main.ts"], {
  MQTT_URL: mqttUrl,
  INGEST_URL: `${workerUrl}/api/v1/ingest`,
  INGEST_TOKEN: secrets.INGEST_TOKEN,
  BRIDGE_STATE_DIR: join(STATE, "bridge"),
  BRIDGE_HTTP_PORT: String(config.BRIDGE_HTTP_PORT),
});

if (config.SIMULATE === "true" && config.BACKFILL_DAYS > 0) {
  // The simulated devices' history, before they start: the day and week views, the ranking and the 24-hour chart
  // have data at once, and the last hour gives every location a score. Only on a new state (see needsBackfill).
  const options = parseBackfillOptions({ days: String(config.BACKFILL_DAYS), apiUrl: workerUrl, ingestToken: secrets.INGEST_TOKEN });
  const marker = join(STATE, "backfill.json");
  const wanted = await needsBackfill(workerUrl, options.locations, existsSync(marker)).catch((e: Error) => failRunning(`cannot read the worker's locations: ${e.message}`));
  if (wanted) {
    // Each site's own time zone and opening hours first, so its day views are right at once.
    await putSiteSettings(workerUrl, secrets.ADMIN_TOKEN, options.locations).catch((e: Error) => failRunning(`setting the sites' calendars failed: ${e.message}`));
    say(`Back-filling ${options.days} days of history at ${options.locations.join(", ")}…`);
    const result = await backfill(options).catch((e: Error) => failRunning(`the back-fill failed: ${e.message}`));
    writeFileSync(marker, JSON.stringify({ days: options.days, at: new Date().toISOString(), ...result }) + "\n");
    say(`Back-filled ${result.events} events (${result.accepted} new) in ${(result.ms / 1000).toFixed(1)} s.`);
    // The digest time only now: a digest already due (DIGEST_AT passed today) is yesterday's, read from this
    // history, and goes to the channels in force when it is due: the local receiver's must be registered first.
    await registered;
    await putSiteSettings(workerUrl, secrets.ADMIN_TOKEN, options.locations, config.DIGEST_AT).catch((e: Error) => failRunning(`setting the sites' digest time failed: ${e.message}`));
  }
}

if (config.SIMULATE === "true") runPart("simulator", tsx, ["simulator/main.ts"], { MQTT_URL: mqttUrl });
const receiverNote = await registered;

say(`
  happy-hub is running.

  Dashboard      ${workerUrl}/
  API            ${workerUrl}/api/v1/locations
  MQTT broker    ${mqttUrl}${broker ? " (embedded)" : ""}
  Bridge         http://127.0.0.1:${config.BRIDGE_HTTP_PORT}/metrics  ·  /healthz
  Tokens         .dev.vars (INGEST_TOKEN for the bridge, ADMIN_TOKEN for rules, rebuilds and share links;
                 reads are public until you add VIEWER_TOKEN)
  Webhooks       ${receiver.url}  (${receiverNote})
  Logs           ${LOGS}/{worker,bridge${config.SIMULATE === "true" ? ",simulator" : ""}}.log

  Press a "sad" button:  npm run press -- sad --device door-mtc-1
  (a terminal of your own at MTC: the simulated ones vote several times a minute, so three presses barely move theirs;
  its alert arrives here as a signed webhook)
  Ctrl-C stops everything.
`);

/**
 * Registers the local receiver as the notification channel for MTC's alerts
 * and daily digest (the location `npm run press` uses; the other simulated
 * sites are moodier and would fill the console), unless somebody set
 * channels of their own.
 */
async function registerLocalReceiver(r: WebhookReceiver): Promise<string> {
  const auth = { authorization: `Bearer ${secrets.ADMIN_TOKEN}` };
  const current = await fetch(`${workerUrl}/api/v1/notifications`, { headers: auth });
  if (!current.ok) throw new Error(`GET /api/v1/notifications answered ${current.status}`);
  const { channels } = (await current.json()) as { channels: { id: string }[] };
  if (channels.some((c) => c.id !== LOCAL_CHANNEL)) return "not registered: channels of your own are set";
  const body = { channels: [{ id: LOCAL_CHANNEL, type: "webhook", url: r.url, secret: r.secret, events: ["alert-raised", "alert-cleared", "digest"], locations: ["MTC"] }] };
  const put = await fetch(`${workerUrl}/api/v1/notifications`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!put.ok) throw new Error(`PUT /api/v1/notifications answered ${put.status}: ${await put.text()}`);
  return `channel ${LOCAL_CHANNEL}: MTC's alerts and daily digest, printed here`;
}
