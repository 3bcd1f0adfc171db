import { join } from "node:path";
import type { CheckpointStore } from "@azure/event-hubs";
import type { EventHubSubscriber } from "./azure/event-hub-source";
import { createBridgeMetrics, type BridgeMetrics } from "./bridge-metrics";
import { CommandRelay } from "./commands/command-relay";
import { CommandStore } from "./commands/command-store";
import { parseConfig, redacted, type BridgeConfig, type BridgeConfigInput } from "./config";
import { DeadLetterFile } from "./dead-letters";
import { startHttpServer } from "./http";
import { Intake } from "./intake";
import { createLogger, type Logger } from "./log";
import { PublishReceipts } from "./mqtt/receipts";
import { MqttTelemetrySource, type MqttTelemetryOptions } from "./mqtt/telemetry-source";
import { Outbox } from "./outbox";
import { Sender } from "./sender";
import type { Source } from "./source";
import { openStateDb } from "./state-db";
import { createUuidV7 } from "./uuidv7";

export interface Health {
  ok: boolean;
  source: { kind: BridgeConfig["source"]; connected: boolean };
  outbox: { depth: number; limit: number; full: boolean };
  /** `unrecognised`: answers that were not the worker's contract (a proxy's page, counts that do not add up), retried. */
  sender: { lastSuccessAt: string | null; failures: number; lastError: string | null; unrecognised: number; lastUnrecognised: string | null };
  /**
   * The command relay (`enabled: false` with COMMANDS_ENABLED=false or the azure source): its socket to the
   * commands hub (`role` active: it delivers; standby: another bridge does), the hub's epoch and its cursor.
   */
  commands: {
    enabled: boolean;
    connected: boolean;
    role: "active" | "standby" | null;
    epoch: string | null;
    cursor: number | null;
    lastCommandAt: string | null;
    failures: number;
    lastError: string | null;
    pendingReports: number;
  };
}

export interface Bridge {
  readonly config: BridgeConfig;
  readonly metrics: BridgeMetrics;
  /** Port of /metrics and /healthz. */
  readonly httpPort: number;
  readonly deadLetterPath: string;
  /** The MQTT source, when that is the source (for publishing to devices). */
  readonly mqtt: MqttTelemetrySource | undefined;
  health(): Health;
  /**
   * Stops taking messages, keeps sending the outbox for up to
   * SHUTDOWN_TIMEOUT_MS, then closes. What is left stays spooled for the next start.
   */
  stop(): Promise<{ drained: boolean; depth: number }>;
}

export interface BridgeDependencies {
  log?: Logger;
  /** Builds the Event Hubs client (default: the SDK's EventHubConsumerClient). */
  eventHubClient?: (checkpointStore: CheckpointStore, config: BridgeConfig) => EventHubSubscriber;
}

/**
 * Starts a bridge: outbox, sender, /metrics and /healthz, then the source.
 * Throws ConfigError for bad configuration (naming each option).
 */
export async function startBridge(input: BridgeConfigInput, deps: BridgeDependencies = {}): Promise<Bridge> {
  const config = parseConfig(input);
  const log = deps.log ?? createLogger({ level: config.logLevel });
  const db = openStateDb(config.stateDir, config.outboxSync);
  const outbox = new Outbox(db);
  const deadLetters = new DeadLetterFile(join(config.stateDir, "dead-letters.jsonl"), { maxBytes: config.deadLetterMaxBytes, keep: config.deadLetterFiles });
  let source: Source | undefined;
  let relay: CommandRelay | undefined;
  let stopping = false;
  const newId = createUuidV7();
  const metrics = createBridgeMetrics({
    outboxDepth: () => outbox.depth,
    sourceConnected: () => source?.connected ?? false,
    commandReportsPending: () => relay?.pendingReports ?? 0,
    commandFeedLastErrorAt: () => relay?.lastErrorAt ?? null,
    commandHubConnected: () => relay?.connected ?? false,
    commandLastAt: () => relay?.lastCommandAt ?? null,
  });
  const sender = new Sender(outbox, deadLetters, metrics, log.child({ part: "sender" }), config as BridgeConfig & { ingestToken: string });
  const intake = new Intake(outbox, deadLetters, metrics, log.child({ part: "intake" }), {
    routes: config.routes,
    defaultLocation: config.defaultLocation,
    defaultTemperatureUnit: config.defaultTemperatureUnit,
    maxMessageBytes: config.maxMessageBytes,
    newId,
    outboxMaxEvents: config.outboxMaxEvents,
  });

  const health = (): Health => {
    const connected = source?.connected ?? false;
    return {
      ok: connected && !stopping,
      source: { kind: config.source, connected },
      outbox: { depth: outbox.depth, limit: config.outboxMaxEvents, full: intake.full },
      sender: {
        lastSuccessAt: isoOrNull(sender.lastSuccessAt),
        failures: sender.failures,
        lastError: sender.lastError,
        unrecognised: sender.unrecognisedCount,
        lastUnrecognised: sender.lastUnrecognised,
      },
      commands: {
        enabled: relay !== undefined,
        connected: relay?.connected ?? false,
        role: relay?.role ?? null,
        epoch: relay?.epoch ?? null,
        cursor: relay?.cursor ?? null,
        lastCommandAt: isoOrNull(relay?.lastCommandAt),
        failures: relay?.failures ?? 0,
        lastError: relay?.lastError ?? null,
        pendingReports: relay?.pendingReports ?? 0,
      },
    };
  };
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let mqtt: MqttTelemetrySource | undefined;
  try {
    http = await startHttpServer(config.httpHost, config.httpPort, { metrics: metrics.registry, health });
    if (config.source === "mqtt") {
      const commandStore = config.commandsEnabled ? new CommandStore(db) : undefined;
      source = mqtt = new MqttTelemetrySource(
        { ...mqttOptions(config), maximumPacketSize: maximumPacketSize(config.maxMessageBytes), crashAfterCommits: config.crashAfterCommits },
        intake,
        log.child({ part: "mqtt" }),
        { receipts: new PublishReceipts(db, config.mqttClientId), newId, metrics },
      );
      if (commandStore) relay = commandRelay(mqtt, commandStore, config, metrics, log.child({ part: "commands" }));
    } else {
      // Loaded only for this source: the Azure SDK is large and an MQTT bridge has no use for it.
      const { SqliteCheckpointStore } = await import("./azure/checkpoint-store");
      const { EventHubSource } = await import("./azure/event-hub-source");
      const store = new SqliteCheckpointStore(db);
      const client = deps.eventHubClient ? deps.eventHubClient(store, config) : await eventHubConsumer(store, config);
      source = new EventHubSource(client, store, intake, outbox, log.child({ part: "eventhub" }));
    }
  } catch (error) {
    // Release the state directory's lock and the port, so the caller may try again.
    http?.server.close();
    outbox.close();
    deadLetters.close();
    throw error;
  }
  const server = http.server;
  sender.start();
  log.info("bridge started", { httpPort: http.port, outboxDepth: outbox.depth, config: redacted(config) });

  /** Waits for `step` at most STOP_STEP_MS, logging a step that did not finish in time. */
  const bounded = async (what: string, step: Promise<unknown> | undefined): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), STOP_STEP_MS)));
    const outcome = await Promise.race([step, late]);
    clearTimeout(timer);
    if (outcome === "late") log.warn(`stopping: ${what} did not stop within ${STOP_STEP_MS} ms; going on without it`);
  };

  let stopped: Promise<{ drained: boolean; depth: number }> | undefined;
  return {
    config,
    metrics,
    httpPort: http.port,
    deadLetterPath: deadLetters.path,
    mqtt,
    health,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        log.info("stopping: no longer taking messages; sending what is spooled", { outboxDepth: outbox.depth });
        let drained = false;
        try {
          // Commands first: the relay publishes through the source's connection. Each step is bounded so
          // that stop() always finishes: what a step leaves undone stays in the state database.
          await bounded("the command relay", relay?.stop());
          await bounded("the source", source?.stop());
          drained = await sender.flush(config.shutdownTimeoutMs);
        } finally {
          sender.stop();
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await closed;
        }
        const depth = outbox.depth;
        outbox.close();
        deadLetters.close();
        log.info("stopped", { drained, outboxDepth: depth });
        return { drained, depth };
      })()),
  };
}

/**
 * Room in an MQTT packet besides the body: fixed header, topic (with its
 * property bag), packet id and MQTT 5 properties. A packet up to
 * MAX_MESSAGE_BYTES plus this is received (and a body over the limit
 * dead-lettered as too-large); the broker drops larger ones.
 */
const PACKET_OVERHEAD_BYTES = 8 * 1024;
const maximumPacketSize = (maxMessageBytes: number): number => maxMessageBytes + PACKET_OVERHEAD_BYTES;

/** Steps of stop() may take this long before stop() goes on without them. */
const STOP_STEP_MS = 5_000;

const isoOrNull = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());

/**
 * The command relay on the MQTT source's connection; it starts once the connection is up. Bridges of a share
 * group may all enable it: the hub hands each command to one of them (by MQTT_CLIENT_ID).
 */
function commandRelay(mqtt: MqttTelemetrySource, store: CommandStore, config: BridgeConfig, metrics: BridgeMetrics, log: Logger): CommandRelay {
  const connection = mqtt.connection;
  const relay = new CommandRelay(
    store,
    (topic, payload) => connection.publish(topic, payload),
    {
      commandsUrl: config.commandsUrl!,
      token: config.ingestToken!,
      bridge: config.mqttClientId,
      keepaliveMs: config.commandsKeepaliveMs,
      timeoutMs: config.sendTimeoutMs,
      retry: { minMs: config.retryMinMs, maxMs: config.retryMaxMs },
    },
    metrics,
    log,
  );
  connection.client.once("connect", () => relay.start());
  return relay;
}

function mqttOptions(config: BridgeConfig): MqttTelemetryOptions {
  return {
    url: config.mqttUrl,
    filter: config.mqttShareGroup ? `$share/${config.mqttShareGroup}/${config.mqttTopic}` : config.mqttTopic,
    clientId: config.mqttClientId,
    username: config.mqttUsername,
    password: config.mqttPassword,
    caFile: config.mqttCaFile,
    certFile: config.mqttCertFile,
    keyFile: config.mqttKeyFile,
    rejectUnauthorized: config.mqttRejectUnauthorized,
    protocolVersion: config.mqttProtocolVersion,
    keepaliveSeconds: config.mqttKeepaliveSeconds,
    reconnectMinMs: config.mqttReconnectMinMs,
    reconnectMaxMs: config.mqttReconnectMaxMs,
    sessionExpirySeconds: config.mqttSessionExpirySeconds,
  };
}

async function eventHubConsumer(store: CheckpointStore, config: BridgeConfig): Promise<EventHubSubscriber> {
  const { EventHubConsumerClient } = await import("@azure/event-hubs");
  const connection = config.azureConnectionString!;
  return config.azureEventHubName
    ? new EventHubConsumerClient(config.azureConsumerGroup, connection, config.azureEventHubName, store)
    : new EventHubConsumerClient(config.azureConsumerGroup, connection, store);
}
