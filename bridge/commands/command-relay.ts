import { commandsResponse, deliveriesResponse, deviceboundTopic, type Command } from "../../protocol";
import { backoffDelay, sleep, type BackoffOptions } from "../backoff";
import type { Logger } from "../log";
import type { CommandStore, Delivery } from "./command-store";

export interface CommandRelayOptions {
  /** GET {commandsUrl}?cursor= and POST {commandsUrl}/deliveries (the worker's /api/v1/commands). */
  commandsUrl: string;
  token: string;
  /** Pause between polls of an empty feed. */
  pollMs: number;
  timeoutMs: number;
  retry: BackoffOptions;
}

/** Publishes a command QoS 1; resolves once the broker acknowledged it. */
export type PublishCommand = (topic: string, payload: string) => Promise<void>;

export interface CommandRelayCounters {
  published: number;
  skipped: number;
  reported: number;
  failures: number;
}

/**
 * Follows the worker's command feed and delivers each command to its device:
 * publish QoS 1 to `devices/{id}/messages/devicebound/%24.mid={commandId}`,
 * remember the delivery locally, report it to the worker, then advance the
 * cursor. After a crash anywhere in that sequence the feed is read again from
 * the saved cursor; a command already recorded as delivered is not published
 * again, only reported. (A crash between the broker's PUBACK and the local
 * record is the one window where a command can go out twice; devices can drop
 * repeats by the `$.mid` in the topic.)
 */
export class CommandRelay {
  readonly counters: CommandRelayCounters = { published: 0, skipped: 0, reported: 0, failures: 0 };
  private readonly stopController = new AbortController();
  private loop: Promise<void> | null = null;
  lastError: string | null = null;

  constructor(
    private readonly store: CommandStore,
    private readonly publish: PublishCommand,
    private readonly options: CommandRelayOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        const handled = await this.pollOnce();
        attempt = 0;
        this.lastError = null;
        if (handled === 0) await sleep(this.options.pollMs, signal);
      } catch (e) {
        this.counters.failures++;
        this.lastError = (e as Error).message;
        const wait = backoffDelay(attempt++, this.options.retry);
        this.log.warn("command feed failed; retrying", { error: this.lastError, retryInMs: wait });
        await sleep(wait, signal);
      }
    }
  }

  /** One round: report what is unreported, read a page, deliver it, report, advance. Returns commands handled. */
  async pollOnce(): Promise<number> {
    await this.report(this.store.pendingReports());
    const page = commandsResponse.parse(await this.request(`${this.options.commandsUrl}?cursor=${encodeURIComponent(this.store.cursor)}`));
    for (const command of page.commands) await this.deliver(command);
    await this.report(this.store.pendingReports());
    this.store.cursor = page.cursor;
    return page.commands.length;
  }

  private async deliver(c: Command): Promise<void> {
    if (this.store.delivered(c.location, c.id)) {
      this.counters.skipped++;
      return;
    }
    await this.publish(deviceboundTopic(c.deviceId, c.id), c.payload);
    this.store.recordDelivery({ location: c.location, id: c.id, deliveredAt: new Date().toISOString() });
    this.counters.published++;
    this.log.info("command delivered", { location: c.location, deviceId: c.deviceId, id: c.id, payload: c.payload });
  }

  private async report(deliveries: Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const result = deliveriesResponse.parse(
      await this.request(`${this.options.commandsUrl}/deliveries`, { method: "POST", body: JSON.stringify({ deliveries }) }),
    );
    // Unknown ids (a location reset, say) can never be recorded: stop reporting them too.
    this.store.reported(deliveries);
    this.counters.reported += result.recorded;
    if (result.unknown.length > 0) this.log.warn("the worker knows no such commands", { unknown: result.unknown });
  }

  private async request(url: string, init: RequestInit = {}): Promise<unknown> {
    const res = await fetch(url, {
      ...init,
      headers: { authorization: `Bearer ${this.options.token}`, "content-type": "application/json" },
      signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stopController.signal]),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }
}
