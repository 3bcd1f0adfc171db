import type { Writable } from "node:stream";
import type { IPublishPacket } from "mqtt";
import { SYSTEM_PROPERTIES, parseTelemetryTopic } from "../../protocol";
import { sleep } from "../backoff";
import type { BridgeMetrics } from "../bridge-metrics";
import type { Intake } from "../intake";
import type { Logger } from "../log";
import type { DeviceMessage } from "../normalize";
import type { Source } from "../source";
import { MqttConnection, type MqttConnectionOptions } from "./connection";
import { publishDigest, type PublishReceipts, type Receipt } from "./receipts";

export interface MqttTelemetryOptions extends MqttConnectionOptions {
  /** The subscription, e.g. devices/+/messages/events/# or $share/bridges/devices/+/messages/events/#. */
  filter: string;
  /**
   * Testing only (BRIDGE_CRASH_AFTER_COMMITS): kill the process with SIGKILL
   * right after this many outbox commits, before their PUBACKs leave, to
   * prove that what the broker then redelivers is stored once.
   */
  crashAfterCommits?: number | undefined;
}

export interface MqttTelemetryDependencies {
  /** Where the ids given to messages without `$.mid` are kept per packet id, for redeliveries. */
  receipts: PublishReceipts;
  /** A fresh event id (UUIDv7). */
  newId: () => string;
  metrics: Pick<BridgeMetrics, "redeliveriesRecognised">;
}

/**
 * Messages taken per event-loop turn (one outbox transaction). Without a
 * bound, a busy broker connection can keep the loop reading for seconds
 * (libuv reads a readable socket many times per turn), starving the sender's
 * HTTP responses; stopping mqtt.js after this many lets everything else run.
 */
const MAX_MESSAGES_PER_TURN = 500;

/** Pause before reconnecting after the outbox could not be written (so a broken disk does not spin). */
const DISK_RETRY_MS = 1000;

/**
 * Device telemetry from an MQTT broker (Azure IoT Hub topic convention).
 *
 * Each message is spooled or dead-lettered before its PUBACK leaves. mqtt.js
 * hands over one message at a time and writes the PUBACK as soon as the
 * handler says so; to commit many messages at once, the messages that arrive
 * in one turn of the event loop go into one outbox transaction while the
 * socket is corked, so their PUBACKs sit in the process until the commit
 * (then uncork sends them). If the process dies first, no PUBACK has left and
 * the broker redelivers (with DUP and the same packet id: a message without
 * `$.mid` then keeps the id it was spooled with, see PublishReceipts). When
 * the outbox is full a message is left unacknowledged and, once there is
 * room, the connection is reopened so the broker sends it again.
 */
export class MqttTelemetrySource implements Source {
  readonly connection: MqttConnection;
  private subscribed = false;
  private stopping = false;
  private redeliveryPending = false;
  /** The socket corked for the open outbox transaction, if any. */
  private corked: Writable | undefined;
  /** Messages taken in the open transaction. */
  private inTurn = 0;
  /** Lets mqtt.js go on after a turn that reached MAX_MESSAGES_PER_TURN. */
  private afterCommit: (() => void) | undefined;
  /** Outbox commits so far (for `crashAfterCommits` only). */
  private commits = 0;

  constructor(
    private readonly options: MqttTelemetryOptions,
    private readonly intake: Intake,
    private readonly log: Logger,
    private readonly deps: MqttTelemetryDependencies,
  ) {
    this.connection = new MqttConnection(options, log, (packet, done) => this.onPublish(packet, done));
    // A session the broker kept still holds the subscription; a new one (first start, broker restarted without
    // persistence, session expired) needs it again, and until the SUBACK the bridge is not healthy.
    this.connection.client.on("connect", (connack) => {
      if (connack.sessionPresent && this.subscribed) return;
      this.subscribed = false;
      void this.subscribe();
    });
  }

  get connected(): boolean {
    return this.connection.connected && this.subscribed;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.commit();
    await this.connection.close();
  }

  private async subscribe(): Promise<void> {
    try {
      const grants = await this.connection.subscribe(this.options.filter);
      const refused = grants.filter((g) => g.qos === 128 || g.qos > 2);
      if (refused.length) {
        this.log.error("the broker refused the subscription", { filter: this.options.filter, grants });
        return;
      }
      if (grants.some((g) => g.qos === 0)) this.log.warn("the broker granted QoS 0 only: messages may be lost", { filter: this.options.filter });
      this.subscribed = true;
      this.log.info("subscribed", { filter: this.options.filter });
    } catch (error) {
      this.log.error("subscribe failed", { filter: this.options.filter, error });
    }
  }

  private onPublish(packet: IPublishPacket, done: (error?: Error) => void): void {
    if (this.stopping) return done(new Error("stopping"));
    if (!this.corked) this.open();
    // The last message a turn takes waits for the commit: mqtt.js reads no further until then (see MAX_MESSAGES_PER_TURN).
    const next = ++this.inTurn < MAX_MESSAGES_PER_TURN ? done : (error?: Error) => (this.afterCommit = () => done(error));
    const { topic, payload } = packet;
    const body = typeof payload === "string" ? Buffer.from(payload) : payload;
    const parsed = parseTelemetryTopic(topic);
    try {
      if (!parsed.ok) {
        this.intake.poison("topic", [parsed.error], { topic }, body);
        return next();
      }
      const message = toDeviceMessage(parsed.topic.deviceId, parsed.topic.bag, body);
      const receipt = this.receiptFor(packet, message, body);
      const result = this.intake.accept(message, { topic });
      if (result === "full") {
        this.scheduleRedelivery(0);
        return next(new Error("outbox full"));
      }
      // In the open outbox transaction: the receipt is durable exactly when the event is.
      if (result === "spooled" && receipt) this.deps.receipts.record(receipt);
      next();
    } catch (error) {
      this.log.error("could not spool a message; leaving it unacknowledged", { topic, error });
      this.scheduleRedelivery(DISK_RETRY_MS);
      next(error as Error);
    }
  }

  /**
   * A message without `$.mid` gets its id here: the one it got before when the
   * broker redelivers it (DUP, same packet id, same topic and payload), else a
   * fresh one. Returns the receipt to record once it is spooled.
   */
  private receiptFor(packet: IPublishPacket, message: DeviceMessage, body: Uint8Array): Receipt | undefined {
    if (message.messageId !== undefined || packet.qos === 0 || packet.messageId === undefined) return undefined;
    const digest = publishDigest(packet.topic, body);
    // Without DUP this is a first delivery: the same content again is a new reading, not a repeat.
    const known = packet.dup ? this.deps.receipts.idOfRedelivery(packet.messageId, digest) : undefined;
    if (known !== undefined) {
      this.deps.metrics.redeliveriesRecognised.inc();
      this.log.debug("a redelivered message without $.mid keeps the id it was spooled with", { topic: packet.topic, packetId: packet.messageId });
    }
    message.fallbackId = known ?? this.deps.newId();
    return { packetId: packet.messageId, digest, eventId: message.fallbackId };
  }

  /** Opens an outbox transaction and holds every write to the broker until `commit` (the end of this event-loop turn). */
  private open(): void {
    const stream = this.connection.client.stream;
    this.intake.begin();
    stream.cork();
    this.corked = stream;
    setImmediate(() => this.commit());
  }

  private commit(): void {
    const stream = this.corked;
    if (!stream) return;
    this.corked = undefined;
    this.inTurn = 0;
    const resume = this.afterCommit;
    this.afterCommit = undefined;
    try {
      this.intake.commit();
    } catch (error) {
      this.intake.rollback();
      this.log.error("could not commit the outbox; dropping the connection so the broker redelivers", { error });
      // Destroying the socket discards the PUBACKs held in it: nothing of this transaction was acknowledged.
      stream.destroy();
      return;
    }
    if (this.options.crashAfterCommits !== undefined && ++this.commits >= this.options.crashAfterCommits) {
      this.log.warn("BRIDGE_CRASH_AFTER_COMMITS reached: killing the bridge between the outbox commit and the PUBACKs", { commits: this.commits });
      process.kill(process.pid, "SIGKILL");
    }
    stream.uncork();
    resume?.();
  }

  /** Once the outbox has room again, reconnect so the broker redelivers what was left unacknowledged. */
  private scheduleRedelivery(minDelayMs: number): void {
    if (this.redeliveryPending) return;
    this.redeliveryPending = true;
    this.log.warn("outbox full or failing: no longer acknowledging; the broker keeps the backlog");
    void Promise.all([this.intake.whenRoom(), sleep(minDelayMs)]).then(() => {
      this.redeliveryPending = false;
      if (this.stopping) return;
      this.commit(); // the PUBACKs of an open transaction go out first
      this.connection.redeliver();
    });
  }
}

/** Splits the IoT Hub property bag into system keys and application properties. */
export function toDeviceMessage(deviceId: string, bag: Record<string, string>, body: Uint8Array, receivedAt = Date.now()): DeviceMessage {
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(bag)) if (!k.startsWith("$.")) properties[k] = v;
  const message: DeviceMessage = { deviceId, properties, body, receivedAt };
  const mid = bag[SYSTEM_PROPERTIES.messageId];
  const ct = bag[SYSTEM_PROPERTIES.contentType];
  const ce = bag[SYSTEM_PROPERTIES.contentEncoding];
  const cid = bag[SYSTEM_PROPERTIES.correlationId];
  if (mid !== undefined) message.messageId = mid;
  if (ct !== undefined) message.contentType = ct;
  if (ce !== undefined) message.contentEncoding = ce;
  if (cid !== undefined) message.correlationId = cid;
  return message;
}
