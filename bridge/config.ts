import { hostname } from "node:os";
import { z } from "zod";
import { INGEST_LIMITS, TELEMETRY_TOPIC_FILTER, locationName } from "../protocol";
import { LOG_LEVELS, redactUrl } from "./log";
import {
  MQTT_URL_PROTOCOLS,
  mqttProtocolVersion,
  OptionsError,
  bool,
  describeOption,
  flagOf as specFlag,
  helpText as renderHelp,
  int,
  parseOptions,
  readCli as readOptionsCli,
  readableFile,
  redact,
  text,
  url,
  type CliParse,
  type OptionSpec,
  type OptionsInput,
  type ParsedOptions,
} from "./options-table";
import { loadRoutes, TEMPERATURE_UNITS, type Route } from "./routes";

/**
 * Every setting of the bridge, from environment variables and command-line
 * flags (flags win), in one table (see options-table.ts).
 */

export const OUTBOX_SYNC_MODES = ["normal", "full"] as const;
export type OutboxSync = (typeof OUTBOX_SYNC_MODES)[number];

const DEFAULT_CLIENT_ID = `happy-hub-bridge-${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}`;

export const OPTIONS = {
  source: {
    env: "BRIDGE_SOURCE",
    group: "Source",
    help: "Where device messages come from: `mqtt` (any broker) or `azure` (IoT Hub's Event Hub-compatible endpoint).",
    default: "mqtt",
    schema: z.enum(["mqtt", "azure"], { error: "must be mqtt or azure" }),
  },
  mqttUrl: {
    env: "MQTT_URL",
    group: "MQTT",
    help: "Broker URL.",
    default: "mqtt://127.0.0.1:1883",
    schema: url(MQTT_URL_PROTOCOLS),
  },
  mqttTopic: {
    env: "MQTT_TOPIC",
    group: "MQTT",
    help: "Topic filter for device telemetry (Azure IoT Hub convention). A `$share/{group}/…` filter works too.",
    default: TELEMETRY_TOPIC_FILTER,
    schema: text,
  },
  mqttShareGroup: {
    env: "MQTT_SHARE_GROUP",
    group: "MQTT",
    help: "Subscribe as `$share/{group}/{MQTT_TOPIC}` so several bridges split one stream.",
    schema: text.regex(/^[^/+#]+$/, "must not contain '/', '+' or '#'"),
  },
  mqttClientId: {
    env: "MQTT_CLIENT_ID",
    group: "MQTT",
    help: "Client id. Keep it stable: the broker keeps the persistent session (and the backlog) under it. Every bridge needs its own.",
    default: DEFAULT_CLIENT_ID,
    shownDefault: "happy-hub-bridge-<hostname>",
    schema: text.max(256, "must be at most 256 characters"),
  },
  mqttUsername: { env: "MQTT_USERNAME", group: "MQTT", help: "User name.", schema: text },
  mqttPassword: { env: "MQTT_PASSWORD", group: "MQTT", help: "Password.", schema: text, secret: true },
  mqttProtocolVersion: {
    env: "MQTT_PROTOCOL_VERSION",
    group: "MQTT",
    help: "`3.1.1` or `5`.",
    default: "3.1.1",
    schema: mqttProtocolVersion,
  },
  mqttCaFile: { env: "MQTT_CA_FILE", group: "MQTT", help: "PEM file of the CA that signed the broker's certificate (TLS).", schema: readableFile },
  mqttCertFile: { env: "MQTT_CERT_FILE", group: "MQTT", help: "PEM client certificate (TLS client authentication; needs MQTT_KEY_FILE).", schema: readableFile },
  mqttKeyFile: { env: "MQTT_KEY_FILE", group: "MQTT", help: "PEM private key of MQTT_CERT_FILE.", schema: readableFile },
  mqttRejectUnauthorized: {
    env: "MQTT_TLS_REJECT_UNAUTHORIZED",
    group: "MQTT",
    help: "Refuse a broker certificate that does not verify. Turn off only for testing.",
    default: "true",
    schema: bool,
  },
  mqttKeepaliveSeconds: { env: "MQTT_KEEPALIVE", group: "MQTT", help: "Keepalive, seconds.", default: "30", schema: int(1, 65535) },
  mqttReconnectMinMs: { env: "MQTT_RECONNECT_MIN_MS", group: "MQTT", help: "First reconnect delay; it doubles up to MQTT_RECONNECT_MAX_MS.", default: "500", schema: int(10, 600_000) },
  mqttReconnectMaxMs: { env: "MQTT_RECONNECT_MAX_MS", group: "MQTT", help: "Longest reconnect delay.", default: "30000", schema: int(10, 3_600_000) },
  mqttSessionExpirySeconds: {
    env: "MQTT_SESSION_EXPIRY",
    group: "MQTT",
    help: "MQTT 5: how long the broker keeps the session (and queues messages) while the bridge is away, seconds.",
    default: "604800",
    schema: int(1, 0xffffffff),
  },
  maxMessageBytes: {
    env: "MAX_MESSAGE_BYTES",
    group: "MQTT",
    help: "Largest device message body; larger ones are dead-lettered.",
    default: "65536",
    schema: int(64, 16 * 1024 * 1024),
  },
  azureConnectionString: {
    env: "AZURE_EVENTHUB_CONNECTION_STRING",
    group: "Azure IoT Hub",
    help: "Event Hub-compatible connection string of the hub's built-in endpoint (BRIDGE_SOURCE=azure).",
    schema: text.regex(/Endpoint=sb:\/\/[^;]+/i, "must be an Event Hub connection string (Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…)"),
    secret: true,
  },
  azureEventHubName: { env: "AZURE_EVENTHUB_NAME", group: "Azure IoT Hub", help: "Event Hub-compatible name, when the connection string has no EntityPath.", schema: text },
  azureConsumerGroup: { env: "AZURE_CONSUMER_GROUP", group: "Azure IoT Hub", help: "Consumer group (give the bridge its own).", default: "$Default", schema: text },
  ingestUrl: {
    env: "INGEST_URL",
    group: "Worker",
    help: "The worker's ingest endpoint.",
    default: "http://127.0.0.1:8787/api/v1/ingest",
    schema: url(["http:", "https:"]),
  },
  ingestToken: { env: "INGEST_TOKEN", group: "Worker", help: "Bearer token of the ingest endpoint (the worker's INGEST_TOKEN secret). Required.", schema: text, secret: true },
  batchMaxEvents: {
    env: "BATCH_MAX_EVENTS",
    group: "Worker",
    help: "Most events per request.",
    default: "500",
    schema: int(1, INGEST_LIMITS.maxEvents),
  },
  batchMaxBytes: {
    env: "BATCH_MAX_BYTES",
    group: "Worker",
    help: "Most bytes per request body.",
    default: String(512 * 1024),
    schema: int(16 * 1024, INGEST_LIMITS.maxBodyBytes),
  },
  batchLingerMs: { env: "BATCH_LINGER_MS", group: "Worker", help: "How long a partial batch waits for more events before it is sent (it also waits while a request is in flight).", default: "0", schema: int(0, 60_000) },
  sendConcurrency: { env: "SEND_CONCURRENCY", group: "Worker", help: "Requests in flight at once.", default: "4", schema: int(1, 64) },
  sendTimeoutMs: { env: "SEND_TIMEOUT_MS", group: "Worker", help: "Timeout of one request.", default: "15000", schema: int(100, 600_000) },
  retryMinMs: { env: "RETRY_MIN_MS", group: "Worker", help: "First retry delay; it doubles (with jitter) up to RETRY_MAX_MS.", default: "200", schema: int(1, 600_000) },
  retryMaxMs: { env: "RETRY_MAX_MS", group: "Worker", help: "Longest retry delay (a Retry-After from the worker wins).", default: "30000", schema: int(1, 3_600_000) },
  maxBatchFailures: {
    env: "MAX_BATCH_FAILURES",
    group: "Worker",
    help: "Times in a row the worker may fail on one batch with its own 5xx (not 503) before the bridge halves it to find the event at fault; that event alone is dead-lettered (reason undeliverable) after as many.",
    default: "8",
    schema: int(1, 1_000),
  },
  commandsEnabled: {
    env: "COMMANDS_ENABLED",
    group: "Commands",
    help: "Hold the worker's commands socket and publish each command QoS 1 to `devices/{deviceId}/messages/devicebound/%24.mid={commandId}`. MQTT source only (IoT Hub sends cloud-to-device messages through its service API).",
    shownDefault: "true with BRIDGE_SOURCE=mqtt, false with azure",
    schema: bool,
  },
  commandsUrl: {
    env: "COMMANDS_URL",
    group: "Commands",
    help: "The worker's commands socket (a WebSocket; http(s) URLs are taken as ws(s)). Authenticated with INGEST_TOKEN. Reconnects back off with RETRY_MIN_MS…RETRY_MAX_MS; opening it times out after SEND_TIMEOUT_MS.",
    shownDefault: "INGEST_URL with /ingest replaced by /commands/live",
    schema: url(["http:", "https:", "ws:", "wss:"]),
  },
  commandsKeepaliveMs: {
    env: "COMMANDS_KEEPALIVE_MS",
    group: "Commands",
    help: "A ping on the idle commands socket this often (answered by the worker's runtime without waking anything); no answer for twice as long: reconnect.",
    default: "30000",
    schema: int(1_000, 300_000),
  },
  stateDir: {
    env: "BRIDGE_STATE_DIR",
    group: "State",
    help: "Directory of the outbox (bridge.sqlite) and dead letters (dead-letters.jsonl).",
    default: ".state/bridge",
    schema: text,
  },
  outboxMaxEvents: {
    env: "OUTBOX_MAX_EVENTS",
    group: "State",
    help: "Outbox size at which the bridge stops acknowledging, so the broker holds the backlog.",
    default: "500000",
    schema: int(1, 100_000_000),
  },
  outboxSync: {
    env: "OUTBOX_SYNC",
    group: "State",
    help: "`normal`: a spooled message survives the bridge being killed; `full`: also power loss (an fsync per commit, slower).",
    default: "normal",
    schema: z.enum(OUTBOX_SYNC_MODES, { error: "must be normal or full" }),
  },
  deadLetterMaxBytes: {
    env: "DEAD_LETTER_MAX_BYTES",
    group: "State",
    help: "Size at which dead-letters.jsonl is rotated to dead-letters.jsonl.1 (and .1 to .2…), so poison messages cannot fill the disk.",
    default: String(16 * 1024 * 1024),
    schema: int(4096, 2 ** 40),
  },
  deadLetterFiles: {
    env: "DEAD_LETTER_FILES",
    group: "State",
    help: "Rotated dead-letter files kept besides the current one (0: none; the oldest is deleted).",
    default: "4",
    schema: int(0, 1_000),
  },
  defaultLocation: {
    env: "DEFAULT_LOCATION",
    group: "Routing",
    help: "Location of a message that names none (no property, body field or route). Unset: such messages are dead-lettered.",
    schema: locationName,
  },
  routesFile: {
    env: "ROUTES_FILE",
    group: "Routing",
    help: 'JSON file {"routes":[{"pattern":"arduino.*","location":"MTC","temperatureUnit":"F"}]}: device-id patterns (whole-id regular expressions, first match wins) → location and unit.',
    schema: readableFile,
  },
  defaultTemperatureUnit: {
    env: "DEFAULT_TEMPERATURE_UNIT",
    group: "Routing",
    help: "Unit of `temperature` when no route sets one (F is converted to °C).",
    default: "C",
    schema: z.enum(TEMPERATURE_UNITS, { error: "must be C or F" }),
  },
  httpHost: { env: "BRIDGE_HTTP_HOST", group: "Operations", help: "Address of the /metrics and /healthz server.", default: "127.0.0.1", schema: text },
  httpPort: { env: "BRIDGE_HTTP_PORT", group: "Operations", help: "Port of /metrics and /healthz (0: any free port).", default: "9464", schema: int(0, 65535) },
  logLevel: {
    env: "LOG_LEVEL",
    group: "Operations",
    help: "debug, info, warn or error.",
    default: "info",
    schema: z.enum(LOG_LEVELS, { error: "must be debug, info, warn or error" }),
  },
  shutdownTimeoutMs: {
    env: "SHUTDOWN_TIMEOUT_MS",
    group: "Operations",
    help: "On SIGINT/SIGTERM: how long to keep sending the outbox before exiting (what is left stays spooled).",
    default: "10000",
    schema: int(0, 600_000),
  },
  crashAfterCommits: {
    env: "BRIDGE_CRASH_AFTER_COMMITS",
    group: "Testing",
    help: "Testing only, never in production: kill the bridge (SIGKILL) right after its Nth outbox commit of MQTT messages, before their PUBACKs leave, to prove the broker's redelivery is stored once.",
    schema: int(1, 1_000_000_000),
  },
} satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;

/**
 * The validated configuration; `routes` is the content of ROUTES_FILE, and the
 * command options are resolved (COMMANDS_ENABLED from the source, COMMANDS_URL
 * from INGEST_URL, when unset).
 */
export type BridgeConfig = Omit<ParsedOptions<typeof OPTIONS>, "commandsEnabled" | "commandsUrl"> & {
  routes: Route[];
  commandsEnabled: boolean;
  /** Set whenever commands are enabled. */
  commandsUrl: string | undefined;
};

/** What `startBridge` accepts: any option as its parsed type or as the string an environment variable would hold. */
export type BridgeConfigInput = OptionsInput<typeof OPTIONS>;

export { OptionsError as ConfigError };

export const flagOf = (key: OptionKey): string => specFlag(OPTIONS[key]);
const describe = (key: OptionKey) => describeOption(OPTIONS[key]);

/** Validates `input` (defaults filled in) and loads the routes file. Throws ConfigError naming every bad option. */
export function parseConfig(input: BridgeConfigInput): BridgeConfig {
  const { values, problems } = parseOptions(OPTIONS, input);
  if (problems.length === 0) problems.push(...crossChecks(values));
  let routes: Route[] = [];
  if (problems.length === 0 && values.routesFile) {
    try {
      routes = loadRoutes(values.routesFile);
    } catch (e) {
      problems.push(`${describe("routesFile")}: ${(e as Error).message}`);
    }
  }
  const commands = problems.length === 0 ? resolveCommands(values, problems) : undefined;
  if (problems.length || !commands) throw new OptionsError(problems);
  return { ...values, routes, commandsEnabled: commands.enabled, commandsUrl: commands.url };
}

/**
 * The commands socket: on by default for the MQTT source, its URL next to the
 * ingest endpoint unless given. Adds to `problems` what cannot work.
 */
function resolveCommands(c: ParsedOptions<typeof OPTIONS>, problems: string[]): { enabled: boolean; url: string | undefined } | undefined {
  const enabled = c.commandsEnabled ?? c.source === "mqtt";
  if (!enabled) return { enabled, url: c.commandsUrl };
  if (c.source !== "mqtt") {
    problems.push(
      `${describe("commandsEnabled")}: the azure source cannot deliver commands (IoT Hub takes cloud-to-device messages through its service API, see docs/BRIDGE.md); leave it unset or false`,
    );
    return undefined;
  }
  const url = c.commandsUrl ?? commandsUrlFor(c.ingestUrl);
  if (url === undefined) {
    problems.push(`${describe("commandsUrl")}: cannot be derived from INGEST_URL ${c.ingestUrl} (its path does not end in /ingest); set it, or COMMANDS_ENABLED=false`);
    return undefined;
  }
  return { enabled, url };
}

/** `…/api/v1/ingest` → `…/api/v1/commands/live` (undefined when the path does not end in /ingest). */
export function commandsUrlFor(ingestUrl: string): string | undefined {
  const u = new URL(ingestUrl);
  if (!/\/ingest\/?$/.test(u.pathname)) return undefined;
  u.pathname = u.pathname.replace(/\/ingest\/?$/, "/commands/live");
  u.search = "";
  u.hash = "";
  return u.toString();
}

function crossChecks(c: ParsedOptions<typeof OPTIONS>): string[] {
  const problems: string[] = [];
  if (c.ingestToken === undefined) problems.push(`${describe("ingestToken")}: is required`);
  if ((c.mqttCertFile === undefined) !== (c.mqttKeyFile === undefined)) {
    problems.push(`${describe("mqttCertFile")} and ${describe("mqttKeyFile")}: set both or neither`);
  }
  if (c.mqttReconnectMinMs > c.mqttReconnectMaxMs) problems.push(`${describe("mqttReconnectMinMs")}: must not exceed MQTT_RECONNECT_MAX_MS`);
  if (c.retryMinMs > c.retryMaxMs) problems.push(`${describe("retryMinMs")}: must not exceed RETRY_MAX_MS`);
  if (c.source === "azure" && c.azureConnectionString === undefined) {
    problems.push(`${describe("azureConnectionString")}: is required when BRIDGE_SOURCE is azure`);
  }
  if (c.mqttShareGroup !== undefined && c.mqttTopic.startsWith("$share/")) {
    problems.push(`${describe("mqttShareGroup")}: MQTT_TOPIC is already a $share filter; set one or the other`);
  }
  return problems;
}

/** Reads options from `env`, then from `argv`, flags winning. */
export const readCli = (argv: readonly string[], env: Record<string, string | undefined>): CliParse<typeof OPTIONS> =>
  readOptionsCli(OPTIONS, argv, env);

export const helpText = (): string =>
  renderHelp(OPTIONS, [
    "Usage: happy-hub-bridge [options]",
    "",
    "Subscribes to device telemetry, spools it durably and delivers it to the happy-hub worker exactly once.",
    "Every option can be set by its environment variable or its flag; flags win.",
  ]);

/** The configuration as it is safe to log: secrets replaced by "***". */
export function redacted(config: BridgeConfig): Record<string, unknown> {
  return { ...redact(OPTIONS, config), mqttUrl: redactUrl(config.mqttUrl), routes: config.routes.length };
}
