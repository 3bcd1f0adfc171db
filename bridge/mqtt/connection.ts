import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type IPublishPacket, type ISubscriptionGrant, type MqttClient } from "mqtt";
import { backoffDelay } from "../backoff";
import { redactUrl, type Logger } from "../log";

export interface MqttConnectionOptions {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  rejectUnauthorized: boolean;
  protocolVersion: 4 | 5;
  keepaliveSeconds: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  sessionExpirySeconds: number;
  /**
   * MQTT 5: the largest packet the broker may send us (CONNECT's Maximum
   * Packet Size); the broker drops larger messages instead of sending them,
   * so an oversized one is never buffered here. MQTT 3.1.1 has no such field.
   */
  maximumPacketSize?: number | undefined;
}

/**
 * Receives each incoming PUBLISH and calls `done()` once it is safe to
 * acknowledge it; `done(error)` leaves it unacknowledged (no PUBACK), so the
 * broker redelivers it on the next connection. mqtt.js hands over one message
 * at a time and sends the PUBACK only after `done()`.
 */
export type PublishHandler = (packet: IPublishPacket, done: (error?: Error) => void) => void;

/**
 * One MQTT connection with a persistent session: QoS 1, `clean: false`, a
 * stable client id, reconnects with exponential backoff. Incoming messages go
 * to one handler; `publish` is there for whatever sends to devices.
 */
export class MqttConnection {
  readonly client: MqttClient;
  private attempt = 0;
  private closing = false;

  constructor(
    options: MqttConnectionOptions,
    private readonly log: Logger,
    onPublish: PublishHandler,
  ) {
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      clean: false,
      // The owner of a subscription decides when to renew it (after a connection without a kept session).
      resubscribe: false,
      protocolVersion: options.protocolVersion,
      keepalive: options.keepaliveSeconds,
      reconnectPeriod: options.reconnectMinMs,
      connectTimeout: 10_000,
      // mqtt.js traces every packet through `debug`; even disabled, that costs more per message than it is worth.
      log: () => {},
      rejectUnauthorized: options.rejectUnauthorized,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
      ...(options.certFile ? { cert: readFileSync(options.certFile) } : {}),
      ...(options.keyFile ? { key: readFileSync(options.keyFile) } : {}),
      // MQTT 5 ends a session when the connection closes unless told otherwise.
      ...(options.protocolVersion === 5
        ? {
            properties: {
              sessionExpiryInterval: options.sessionExpirySeconds,
              ...(options.maximumPacketSize === undefined ? {} : { maximumPacketSize: options.maximumPacketSize }),
            },
          }
        : {}),
    };
    this.client = mqtt.connect(options.url, clientOptions);
    // Called for every incoming PUBLISH before mqtt.js acknowledges it, in MQTT 3.1.1 and 5 alike.
    this.client.handleMessage = (packet, done) => onPublish(packet, done);

    this.client.on("connect", (connack) => {
      this.attempt = 0;
      this.client.options.reconnectPeriod = options.reconnectMinMs;
      log.info("mqtt connected", { url: redactUrl(options.url), clientId: options.clientId, sessionPresent: connack.sessionPresent });
    });
    // mqtt.js reconnects on a fixed period; stretch it before each attempt.
    this.client.on("reconnect", () => {
      this.attempt++;
      this.client.options.reconnectPeriod = backoffDelay(this.attempt, { minMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs });
    });
    this.client.on("close", () => {
      if (!this.closing) log.warn("mqtt connection closed; reconnecting", { attempt: this.attempt + 1 });
    });
    this.client.on("error", (error) => log.error("mqtt error", { error }));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Subscribes at QoS 1; the returned grants say what the broker allowed (128: refused). */
  subscribe(filter: string): Promise<ISubscriptionGrant[]> {
    return this.client.subscribeAsync(filter, { qos: 1 });
  }

  /** Publishes at QoS 1 (to devices, for example); resolves on PUBACK. */
  async publish(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  /**
   * Closes the socket (after flushing what was written to it); mqtt.js
   * reconnects to the same session, and the broker sends again the messages
   * left unacknowledged (MQTT redelivers only on a new connection). Closing
   * the socket rather than `client.end()` keeps mqtt.js's store of our own
   * unacknowledged publishes, which it resends after reconnecting.
   */
  redeliver(): void {
    if (this.closing || !this.client.connected) return;
    this.log.info("reconnecting for the broker to redeliver unacknowledged messages");
    this.client.stream.end();
  }

  /**
   * Disconnects. Connected, it first waits for the PUBACKs of our own
   * publishes in flight; with no connection none can come, so it does not wait.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.client.endAsync(!this.client.connected);
  }
}
