import type { z } from "zod";
import { commandsResponse, deliveriesResponse, deviceboundTopic, type Command } from "../../protocol";
import { backoffDelay, parseRetryAfter, sleep, type BackoffOptions } from "../backoff";
import type { BridgeMetrics } from "../bridge-metrics";
import type { Logger } from "../log";
import { describeError } from "../sender";
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

/** Publishes a command QoS 1; resolves once the broker acknowledged it (PUBACK). */
export type PublishCommand = (topic: string, payload: string) => Promise<void>;

export type CommandMetrics = Pick<BridgeMetrics, "commandsPublished" | "commandsSkipped" | "commandReports" | "commandFeedFailures">;

/**
 * On stop, how long a publish already sent may still wait for its PUBACK, so
 * a normal shutdown records it instead of leaving it to be published again.
 */
const STOP_PUBACK_GRACE_MS = 2_000;

class Stopped extends Error {
  constructor() {
    super("stopped");
  }
}

/** A failed HTTP exchange, with the wait the worker asked for (Retry-After). */
class FeedError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Follows the worker's command feed and delivers each command to its device.
 * A round: read a page after the saved cursor; publish each command QoS 1 to
 * `devices/{id}/messages/devicebound/%24.mid={commandId}` and, on the broker's
 * PUBACK, record it locally; save the cursor; report the recorded deliveries
 * to the worker, which takes them out of the feed and logs them.
 *
 * After a crash before the cursor was saved, the feed hands out the same
 * commands again (the worker never heard of their delivery): the ones
 * recorded locally are reported, not published again. The one window where a
 * command can go out twice is between the broker's PUBACK and the local
 * record (a crash there, or a stop while the broker takes longer than
 * STOP_PUBACK_GRACE_MS to acknowledge); devices can drop such a repeat by the
 * `$.mid` in the topic.
 *
 * One command at a time: each waits for the one before it, so a device gets
 * its commands in the order they were issued.
 */
export class CommandRelay {
  private readonly stopController = new AbortController();
  private loop: Promise<void> | null = null;
  private consecutiveFailures = 0;
  /** The error last logged as a warning in the current run of failures (the same one again goes to debug). */
  private warned: string | null = null;
  lastSuccessAt: number | null = null;
  lastError: string | null = null;
  lastErrorAt: number | null = null;

  constructor(
    private readonly store: CommandStore,
    private readonly publish: PublishCommand,
    private readonly options: CommandRelayOptions,
    private readonly metrics: CommandMetrics,
    private readonly log: Logger,
  ) {}

  /** Failed rounds since the last successful one. */
  get failures(): number {
    return this.consecutiveFailures;
  }

  get pendingReports(): number {
    return this.store.pendingCount;
  }

  start(): void {
    if (this.stopController.signal.aborted) return;
    this.loop ??= this.run();
  }

  /** Ends the loop: requests in flight are abandoned, a publish in flight gets a short grace for its PUBACK. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      let handled: number;
      try {
        handled = await this.pollOnce();
      } catch (e) {
        if (signal.aborted) break;
        await sleep(this.failed(e as Error), signal);
        continue;
      }
      if (this.consecutiveFailures > 0) this.log.info("command feed recovered", { afterFailures: this.consecutiveFailures });
      this.consecutiveFailures = 0;
      this.warned = null;
      this.lastSuccessAt = Date.now();
      if (handled === 0) await sleep(this.options.pollMs, signal);
    }
  }

  /** Counts and logs a failed round; returns how long to wait before the next. */
  private failed(error: Error): number {
    const wait = error instanceof FeedError && error.retryAfterMs !== undefined ? error.retryAfterMs : backoffDelay(this.consecutiveFailures, this.options.retry);
    this.consecutiveFailures++;
    this.metrics.commandFeedFailures.inc();
    // Warn when something new goes wrong; the same error again (a long outage) only at debug.
    const level = error.message === this.warned ? "debug" : "warn";
    this.warned = error.message;
    this.lastError = error.message;
    this.lastErrorAt = Date.now();
    this.log[level]("command relay failed; retrying", { error: error.message, attempt: this.consecutiveFailures, retryInMs: wait });
    return wait;
  }

  /** One round: read a page, publish and record it, save the cursor, report. Returns the commands in the page. */
  async pollOnce(): Promise<number> {
    const cursor = this.store.cursor;
    const page = parse(commandsResponse, await this.request("GET", `${this.options.commandsUrl}?cursor=${encodeURIComponent(cursor)}`), "command feed");
    for (const command of page.commands) await this.deliver(command);
    if (page.cursor !== cursor) await this.store.advance(page.cursor);
    await this.reportPending();
    return page.commands.length;
  }

  private async deliver(c: Command): Promise<void> {
    if (this.store.delivered(c.location, c.id)) {
      this.metrics.commandsSkipped.inc();
      this.log.info("command already published by a round that did not finish; reporting it, not publishing it again", { location: c.location, deviceId: c.deviceId, commandId: c.id });
      return;
    }
    const topic = deviceboundTopic(c.deviceId, c.id);
    await this.published(this.publish(topic, c.payload));
    const deliveredAt = new Date().toISOString();
    await this.store.recordDelivery({ location: c.location, id: c.id, deliveredAt });
    this.metrics.commandsPublished.inc();
    this.log.info("command delivered", {
      location: c.location,
      deviceId: c.deviceId,
      commandId: c.id,
      payload: c.payload,
      ruleId: c.ruleId,
      issuedAt: c.issuedAt,
      deliveredAt,
      topic,
    });
  }

  /** Waits for the PUBACK; once stopping, only for a short grace (then the outcome is unknown and nothing is recorded). */
  private published(publish: Promise<void>): Promise<void> {
    const stop = this.stopController.signal;
    return new Promise<void>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const onStop = () => (grace = setTimeout(() => reject(new Stopped()), STOP_PUBACK_GRACE_MS));
      const settle = () => {
        stop.removeEventListener("abort", onStop);
        clearTimeout(grace);
      };
      if (stop.aborted) onStop();
      else stop.addEventListener("abort", onStop, { once: true });
      publish.then(
        () => (settle(), resolve()),
        (error: unknown) => (settle(), reject(error)),
      );
    });
  }

  /** Reports every unreported delivery, a bounded batch at a time. */
  private async reportPending(): Promise<void> {
    for (let batch = this.store.pendingReports(); batch.length > 0; batch = this.store.pendingReports()) await this.report(batch);
  }

  private async report(deliveries: Delivery[]): Promise<void> {
    const body = JSON.stringify({ deliveries });
    const result = parse(deliveriesResponse, await this.request("POST", `${this.options.commandsUrl}/deliveries`, body), "deliveries response");
    // Unknown ids (a location's storage reset, say) can never be recorded: they are not reported again either.
    await this.store.reported(deliveries);
    this.metrics.commandReports.inc(result.recorded, { result: "recorded" });
    this.metrics.commandReports.inc(result.duplicates, { result: "duplicate" });
    this.metrics.commandReports.inc(result.unknown.length, { result: "unknown" });
    if (result.unknown.length > 0) this.log.warn("the worker knows no such commands; not reporting them again", { unknown: result.unknown });
  }

  private async request(method: "GET" | "POST", url: string, body?: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.options.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stopController.signal]),
      });
    } catch (e) {
      if (this.stopController.signal.aborted) throw new Stopped();
      const err = e as Error & { cause?: { code?: string; message?: string } };
      throw new FeedError(`${method} ${url}: ${err.cause?.code ?? err.name}: ${err.cause?.message ?? err.message}`);
    }
    const text = await res.text().catch(() => "");
    if (res.ok) {
      try {
        return JSON.parse(text);
      } catch {
        throw new FeedError(`${method} ${url} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
      }
    }
    const reason = describeError(text).join("; ") || "(no body)";
    if (res.status === 401 || res.status === 403) {
      this.log.error("the worker refused the token of the command feed; check INGEST_TOKEN", { status: res.status, url });
    } else if (res.status === 404 || res.status === 405) {
      this.log.error("no command feed at this URL; check COMMANDS_URL (or INGEST_URL it is derived from)", { status: res.status, url });
    }
    throw new FeedError(`${method} ${url} answered ${res.status}: ${reason}`, parseRetryAfter(res.headers.get("retry-after")));
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
  throw new FeedError(`the ${what} does not match the contract: ${issues.join("; ")}`);
}
