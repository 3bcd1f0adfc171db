/**
 * `npm start`: the whole system on this machine, on embedded defaults.
 *
 *   dashboard build → worker (wrangler dev, state in .wrangler/state)
 *   → embedded MQTT broker (unless MQTT_URL points elsewhere)
 *   → bridge → simulated devices
 *
 * Ctrl-C (SIGINT/SIGTERM) stops every part, the bridge flushing its outbox
 * first. Logs go to .state/logs/<part>.log; the bridge's outbox to
 * .state/bridge. A second start continues with the data of the first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import { ensureDevVars } from "./lib/dev-vars";
import { freePort } from "./lib/free-port";
import { startEmbeddedBroker, type EmbeddedBroker } from "./lib/embedded-broker";
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
});

const parsed = settings.safeParse(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues) console.error(`npm start: ${issue.message}`);
  process.exit(2);
}
const config = parsed.data;

const STATE = join(ROOT, ".state");
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

const children: { name: string; child: ChildProcess }[] = [];
let broker: EmbeddedBroker | null = null;
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
  // Devices first, then the bridge (it flushes its outbox), then the worker, then the broker.
  for (const { name, child } of [...children].reverse()) {
    await stopProcessGroup(child, name === "bridge" ? 15_000 : 5_000);
  }
  await broker?.stop();
  say("Stopped.");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

const npmBin = (tool: string) => join(ROOT, "node_modules/.bin", tool);
const workerUrl = `http://127.0.0.1:${config.PORT}`;

await assertPortFree(config.PORT, "PORT");
if (!config.MQTT_URL) await assertPortFree(config.MQTT_PORT, "MQTT_PORT");
await assertPortFree(config.BRIDGE_HTTP_PORT, "BRIDGE_HTTP_PORT");

const secrets = ensureDevVars(join(ROOT, ".dev.vars"));
if (secrets.created.length) say(`Created .dev.vars with new ${secrets.created.join(" and ")}.`);

say("Building the dashboard…");
const build = spawn(npmBin("vite"), ["build", "--config", "dashboard/vite.config.ts", "--logLevel", "warn"], { cwd: ROOT, stdio: "inherit" });
const built = await new Promise<number | null>((resolve) => build.once("exit", resolve));
if (built !== 0) fail("the dashboard did not build (see above)");

say(`Starting the worker on ${workerUrl}…`);
const workerLog = openSync(logFile("worker"), "a");
const worker = spawnWranglerDev({
  port: config.PORT,
  inspectorPort: await freePort(),
  persistDir: join(ROOT, ".wrangler/state"),
  stdio: workerLog,
});
closeSync(workerLog);
watch("worker", worker);
await waitForHealth(workerUrl, worker, 90_000, () => readFileSync(logFile("worker"), "utf8")).catch((e: Error) => fail(e.message));

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
if (config.SIMULATE === "true") runPart("simulator", tsx, ["simulator/main.ts"], { MQTT_URL: mqttUrl });

say(`
  happy-hub is running.

  Dashboard      ${workerUrl}/
  API            ${workerUrl}/api/v1/locations
  MQTT broker    ${mqttUrl}${broker ? " (embedded)" : ""}
  Bridge         http://127.0.0.1:${config.BRIDGE_HTTP_PORT}/metrics  ·  /healthz
  Tokens         .dev.vars (INGEST_TOKEN for the bridge, ADMIN_TOKEN for rules, rebuilds and share links;
                 reads are public until you add VIEWER_TOKEN)
  Logs           ${LOGS}/{worker,bridge${config.SIMULATE === "true" ? ",simulator" : ""}}.log

  Press a device's "sad" button:  npm run press -- sad --device sim-mtc-1
  Ctrl-C stops everything.
`);
