import type { BridgeMetrics } from "./bridge-metrics";
import type { DeadLetterFile } from "./dead-letters";
import type { Logger } from "./log";
import { normalize, type DeadLetterReason, type DeviceMessage, type NormalizeContext } from "./normalize";
import type { Outbox, SourcePosition } from "./outbox";

export type IntakeResult = "spooled" | "dead-lettered" | "full";

export interface IntakeOptions extends Omit<NormalizeContext, "now"> {
  outboxMaxEvents: number;
}

/** Below this share of the limit a full outbox counts as having room again (hysteresis). */
const ROOM_AT = 0.9;

/**
 * Where every source hands its messages: normalise, then either spool the
 * event (durably, before the source acknowledges) or dead-letter the message
 * with its reason. Bad messages never block good ones; a full outbox is
 * reported so the source can leave the message unacknowledged.
 */
export class Intake {
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly deadLetters: DeadLetterFile,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
    private readonly options: IntakeOptions,
  ) {
    outbox.onRemoved(() => {
      if (this.roomWaiters.length && this.hasRoom()) for (const wake of this.roomWaiters.splice(0)) wake();
    });
  }

  get full(): boolean {
    return this.outbox.depth >= this.options.outboxMaxEvents;
  }

  /** Resolves once the outbox has drained below 90 % of its limit. */
  whenRoom(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Takes one message. "spooled" and "dead-lettered" are durable when this
   * returns, so the source may acknowledge; "full" means it must not.
   * Throws if the disk fails (then nothing was acknowledged either).
   */
  accept(message: DeviceMessage, source: Record<string, unknown>, position?: SourcePosition): IntakeResult {
    this.metrics.received.inc();
    const result = normalize(message, { ...this.options, now: Date.now() });
    if (!result.ok) {
      this.deadLetter(result.reason, result.errors, source, message.body instanceof Uint8Array ? message.body : undefined);
      return "dead-lettered";
    }
    if (this.full) {
      this.metrics.deferred.inc();
      return "full";
    }
    this.outbox.add(JSON.stringify(result.event), position);
    this.metrics.spooled.inc();
    return "spooled";
  }

  /**
   * Opens one outbox transaction for the messages that follow: they are
   * durable only at `commit`, so the source must hold their acknowledgements
   * until then. Many messages per commit is what makes the bridge fast.
   */
  begin(): void {
    this.outbox.begin();
  }

  commit(): void {
    this.outbox.commit();
  }

  rollback(): void {
    this.outbox.rollback();
  }

  /** Takes a message the source could not even read as a device message (e.g. a topic of the wrong shape): dead-letters it. */
  poison(reason: DeadLetterReason, errors: string[], source: Record<string, unknown>, payload?: Uint8Array): void {
    this.metrics.received.inc();
    this.deadLetter(reason, errors, source, payload);
  }

  private deadLetter(reason: DeadLetterReason, errors: string[], source: Record<string, unknown>, payload?: Uint8Array): void {
    this.deadLetters.write({ reason, errors, source, ...(payload ? { payload } : {}) });
    this.metrics.deadLettered.inc(1, { reason });
    this.log.warn("dead-lettered a message", { reason, errors, ...source });
  }

  private hasRoom(): boolean {
    return this.outbox.depth < this.options.outboxMaxEvents * ROOM_AT || this.outbox.depth === 0;
  }
}
