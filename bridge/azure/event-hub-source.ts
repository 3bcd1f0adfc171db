import { createHash } from "node:crypto";
import {
  earliestEventPosition,
  type CheckpointStore,
  type PartitionContext,
  type ReceivedEventData,
  type Subscription,
  type SubscribeOptions,
  type SubscriptionEventHandlers,
} from "@azure/event-hubs";
import type { Intake } from "../intake";
import type { Logger } from "../log";
import type { DeviceMessage } from "../normalize";
import type { Outbox } from "../outbox";
import type { Source } from "../source";

/** The part of `EventHubConsumerClient` this source uses. */
export interface EventHubSubscriber {
  readonly eventHubName: string;
  readonly fullyQualifiedNamespace: string;
  subscribe(handlers: SubscriptionEventHandlers, options?: SubscribeOptions): Subscription;
  close(): Promise<void>;
}

/** IoT Hub system properties on events of its built-in endpoint. */
const IOTHUB = {
  deviceId: "iothub-connection-device-id",
  enqueuedTime: "iothub-enqueuedtime",
  messageSource: "iothub-message-source",
} as const;

export type EventMapping = { ok: true; message: DeviceMessage } | { ok: false; skip: string } | { ok: false; error: string };

/**
 * Maps an event of IoT Hub's Event Hub-compatible endpoint to a device
 * message: the device id and enqueued time from IoT Hub's system properties,
 * `message-id` as the event id, application properties as they are. Without
 * a message id the id is derived from the event's place in the hub
 * (`{hub}:{partition}:{sequenceNumber}`), so re-reading after a restart
 * yields the same id and the worker stores it once.
 */
export function mapEvent(event: ReceivedEventData, partitionId: string, hubKey: string): EventMapping {
  const system = event.systemProperties ?? {};
  const source = system[IOTHUB.messageSource];
  if (source !== undefined && source !== "Telemetry") return { ok: false, skip: `not telemetry (${String(source)})` };
  const deviceId = system[IOTHUB.deviceId];
  if (typeof deviceId !== "string") return { ok: false, error: `event has no ${IOTHUB.deviceId} system property` };

  const enqueued = system[IOTHUB.enqueuedTime] ?? event.enqueuedTimeUtc;
  const receivedAt = enqueued instanceof Date ? enqueued.getTime() : new Date(enqueued as string | number).getTime();

  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.properties ?? {})) {
    if (v === null || v === undefined) continue;
    properties[k] = v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  // The SDK copies AMQP properties into systemProperties under camelCase names; IoT Hub documents them as message-id etc.
  const messageId = idString(event.messageId ?? system.messageId ?? system["message-id"]);
  const contentType = event.contentType ?? system.contentType ?? system["content-type"];
  const contentEncoding = system.contentEncoding ?? system["content-encoding"];
  const correlationId = idString(event.correlationId ?? system.correlationId ?? system["correlation-id"]);

  const message: DeviceMessage = {
    deviceId,
    properties,
    body: toBody(event.body),
    receivedAt: Number.isFinite(receivedAt) ? receivedAt : Date.now(),
    fallbackId: `${hubKey}:${partitionId}:${event.sequenceNumber}`,
  };
  if (messageId !== undefined) message.messageId = messageId;
  if (typeof contentType === "string") message.contentType = contentType;
  if (typeof contentEncoding === "string") message.contentEncoding = contentEncoding;
  if (correlationId !== undefined) message.correlationId = correlationId;
  return { ok: true, message };
}

const idString = (v: unknown): string | undefined =>
  v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v.toString("hex") : String(v);

function toBody(body: unknown): DeviceMessage["body"] {
  if (body instanceof Uint8Array) return body;
  if (typeof body === "string") return Buffer.from(body);
  return { json: body };
}

/** A short, stable name for one hub in derived ids (hub names can be long; ids are at most 128 characters). */
export const hubKey = (namespace: string, hub: string): string =>
  createHash("sha256").update(`${namespace}/${hub}`).digest("hex").slice(0, 12);

/** Where a taken event sits in its partition: all a checkpoint needs (the event itself is not kept). */
interface Received {
  sequence: number;
  offset: string;
}

/**
 * Device telemetry from IoT Hub's built-in endpoint. Each event is spooled or
 * dead-lettered in order; a partition's checkpoint moves only past events the
 * worker has acknowledged (or that were dead-lettered), so a restart re-reads
 * whatever was still in flight and the worker's ids make that harmless.
 */
export class EventHubSource implements Source {
  private readonly subscription: Subscription;
  private readonly key: string;
  /** Per partition: events taken in, oldest first, not yet covered by a checkpoint. */
  private readonly received = new Map<string, Received[]>();
  private readonly contexts = new Map<string, PartitionContext>();
  private readonly checkpointing = new Map<string, Promise<void>>();
  private stopping = false;
  private lastError: unknown = null;

  constructor(
    private readonly client: EventHubSubscriber,
    private readonly checkpoints: CheckpointStore,
    private readonly intake: Intake,
    private readonly outbox: Outbox,
    private readonly log: Logger,
  ) {
    this.key = hubKey(client.fullyQualifiedNamespace, client.eventHubName);
    outbox.onRemoved(() => {
      for (const partition of this.received.keys()) this.checkpoint(partition);
    });
    this.subscription = client.subscribe(
      {
        processInitialize: async (context) => {
          this.contexts.set(context.partitionId, context);
        },
        processEvents: (events, context) => this.take(events, context),
        processError: async (error, context) => {
          this.lastError = error;
          log.error("event hub error", { partition: context.partitionId, error });
        },
      },
      // Own decoding (size, encoding, content type); start from the oldest retained event when there is no checkpoint.
      { skipParsingBodyAsJson: true, startPosition: earliestEventPosition, maxBatchSize: 500, maxWaitTimeInSeconds: 1 },
    );
  }

  get connected(): boolean {
    return this.subscription.isRunning && !this.stopping && this.lastError === null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.subscription.close();
    await Promise.all(this.checkpointing.values());
    await this.client.close();
  }

  /** One batch of one partition: the SDK waits for this before it delivers the next. */
  private async take(events: ReceivedEventData[], context: PartitionContext): Promise<void> {
    this.lastError = null;
    this.contexts.set(context.partitionId, context);
    const partition = context.partitionId;
    const taken = this.received.get(partition) ?? [];
    this.received.set(partition, taken);
    for (const event of events) {
      const source = { partition, sequenceNumber: event.sequenceNumber };
      const mapped = mapEvent(event, partition, this.key);
      if (!mapped.ok) {
        if ("skip" in mapped) this.log.debug("skipped an event", { ...source, why: mapped.skip });
        else this.intake.poison("device-id", [mapped.error], source);
      } else {
        // A full outbox holds this partition here (backpressure) until the worker drains it.
        while (this.intake.accept(mapped.message, source, { partition, sequence: event.sequenceNumber }) === "full") {
          await this.intake.whenRoom();
          if (this.stopping) return;
        }
      }
      taken.push({ sequence: event.sequenceNumber, offset: event.offset });
    }
    this.checkpoint(partition);
  }

  /** Checkpoints `partition` past every taken event older than the oldest one still in the outbox. */
  private checkpoint(partition: string): void {
    const previous = this.checkpointing.get(partition) ?? Promise.resolve();
    const next = previous.then(async () => {
      const taken = this.received.get(partition);
      const context = this.contexts.get(partition);
      if (!taken?.length || !context) return;
      const pending = this.outbox.oldestPending(partition);
      let n = 0;
      while (n < taken.length && (pending === null || taken[n]!.sequence < pending)) n++;
      if (n === 0) return;
      const last = taken[n - 1]!;
      try {
        await this.checkpoints.updateCheckpoint({
          fullyQualifiedNamespace: context.fullyQualifiedNamespace,
          eventHubName: context.eventHubName,
          consumerGroup: context.consumerGroup,
          partitionId: partition,
          sequenceNumber: last.sequence,
          offset: last.offset,
        });
        taken.splice(0, n);
      } catch (error) {
        this.log.warn("checkpoint failed; will retry with the next acknowledgement", { partition, error });
      }
    });
    this.checkpointing.set(partition, next);
  }
}
