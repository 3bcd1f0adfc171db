import type { Checkpoint, CheckpointStore, PartitionContext, ReceivedEventData, Subscription, SubscriptionEventHandlers } from "@azure/event-hubs";
import type { EventHubSubscriber } from "../../../bridge/azure/event-hub-source";

/**
 * Stands in for Azure (which cannot be reached here): replays recorded
 * IoT Hub built-in-endpoint events, shaped as @azure/event-hubs 6 delivers
 * them, and reads back the checkpoints of the store the bridge writes.
 */
export class RecordedEventHub implements EventHubSubscriber {
  readonly eventHubName = "iothub-ehub-happy-hub-25934-1b2c3d4e5f";
  readonly fullyQualifiedNamespace = "ihsuprodblres055dednamespace.servicebus.windows.net";
  readonly consumerGroup = "bridge";
  handlers: SubscriptionEventHandlers | undefined;
  running = false;
  closed = false;

  constructor(private readonly store: CheckpointStore) {}

  subscribe(handlers: SubscriptionEventHandlers): Subscription {
    this.handlers = handlers;
    this.running = true;
    return {
      get isRunning() {
        return true;
      },
      close: async () => {
        this.running = false;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Delivers a batch of one partition and waits until the source took it. */
  async deliver(partitionId: string, events: ReceivedEventData[]): Promise<void> {
    const context = this.context(partitionId);
    await this.handlers!.processInitialize?.(context);
    await this.handlers!.processEvents(events, context);
  }

  /** The stored checkpoint of `partitionId`, as the SDK would resume from it. */
  async checkpoint(partitionId: string): Promise<Checkpoint | undefined> {
    const all = await this.store.listCheckpoints(this.fullyQualifiedNamespace, this.eventHubName, this.consumerGroup);
    return all.find((c) => c.partitionId === partitionId);
  }

  private context(partitionId: string): PartitionContext {
    return {
      partitionId,
      consumerGroup: this.consumerGroup,
      eventHubName: this.eventHubName,
      fullyQualifiedNamespace: this.fullyQualifiedNamespace,
      lastEnqueuedEventProperties: {},
      updateCheckpoint: () => Promise.reject(new Error("the bridge writes checkpoints to its store")),
    };
  }
}

/**
 * A telemetry event as IoT Hub's built-in endpoint delivers it through
 * @azure/event-hubs 6 with skipParsingBodyAsJson (recorded shape: annotations
 * in systemProperties with dates as epoch ms, AMQP properties in camelCase).
 */
export function recordedTelemetry(
  sequenceNumber: number,
  deviceId: string,
  body: string | Buffer,
  options: { messageId?: string; properties?: Record<string, unknown>; enqueuedMs?: number; source?: string } = {},
): ReceivedEventData {
  const enqueued = options.enqueuedMs ?? Date.UTC(2025, 0, 15, 11, 59, 58, 120);
  const system: Record<string, unknown> = {
    "iothub-connection-device-id": deviceId,
    "iothub-connection-auth-method": '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
    "iothub-connection-auth-generation-id": "638712345678901234",
    "iothub-enqueuedtime": enqueued,
    "iothub-message-source": options.source ?? "Telemetry",
    contentType: "application/json",
    contentEncoding: "utf-8",
  };
  if (options.messageId !== undefined) system.messageId = options.messageId;
  return {
    body: typeof body === "string" ? Buffer.from(body) : body,
    properties: options.properties ?? {},
    enqueuedTimeUtc: new Date(enqueued + 3),
    partitionKey: null,
    offset: String(sequenceNumber * 4096),
    sequenceNumber,
    systemProperties: system,
    contentType: "application/json",
    ...(options.messageId === undefined ? {} : { messageId: options.messageId }),
    getRawAmqpMessage: () => {
      throw new Error("not recorded");
    },
  };
}
