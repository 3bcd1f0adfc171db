import { errorBody, ingestResponse, type IngestResponse } from "../protocol";
import { backoffDelay, parseRetryAfter, sleep } from "./backoff";
import type { BridgeMetrics } from "./bridge-metrics";
import type { DeadLetterFile } from "./dead-letters";
import type { Logger } from "./log";
import type { Outbox, OutboxRow } from "./outbox";

export interface SenderOptions {
  ingestUrl: string;
  ingestToken: string;
  batchMaxEvents: number;
  batchMaxBytes: number;
  batchLingerMs: number;
  sendConcurrency: number;
  sendTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

/** `{"events":[` + `]}` */
const ENVELOPE_BYTES = 13;

type Outcome =
  | { kind: "ok"; response: IngestResponse }
  /** Worth retrying as is: network error, timeout, 5xx, 429, and the configuration errors 401/403/404. */
  | { kind: "retry"; reason: string; retryAfterMs?: number }
  /** The worker refused the request as a whole (400/413): split it to isolate the culprit. */
  | { kind: "split"; status: number; errors: string[] };

/**
 * Reads the outbox forward and posts it to the worker in batches (by count,
 * bytes and linger time), a bounded number at a time. A batch is retried until
 * the worker answers 200; only then are its rows removed, and the events the
 * worker rejected written to the dead-letter file. Nothing is ever dropped
 * because the worker is down or misconfigured.
 */
export class Sender {
  /** Highest seq handed to a batch. */
  private cursor = 0;
  private untakenCount: number;
  private untakenBytes: number;
  /** When the oldest event not yet in a batch was spooled (for the linger time). */
  private oldestUntakenAt: number;
  private inFlight = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private readonly abort = new AbortController();
  private idleWaiters: (() => void)[] = [];
  /**
   * Batches that failed, oldest first. Only the first one retries (with
   * backoff); the others wait their turn and no new batch starts, so an outage
   * costs one probe at a time and, once the worker is back, the backlog lands
   * in the order it was received.
   */
  private readonly retryLine: { first: number; wake: () => void }[] = [];
  private consecutiveFailures = 0;
  lastSuccessAt: number | null = null;
  lastError: string | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly deadLetters: DeadLetterFile,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
    private readonly options: SenderOptions,
  ) {
    this.untakenCount = outbox.depth;
    this.untakenBytes = outbox.bytesAtOpen;
    this.oldestUntakenAt = 0; // whatever survived a restart is due at once
    outbox.onSpooled((rows) => this.spooled(rows));
  }

  /** Rows just committed to the outbox. */
  private spooled(rows: OutboxRow[]): void {
    if (this.untakenCount === 0) this.oldestUntakenAt = Date.now();
    this.untakenCount += rows.length;
    for (const row of rows) this.untakenBytes += row.bytes;
    this.pump();
  }

  /** Begins sending what the outbox already holds. */
  start(): void {
    this.pump();
  }

  /** Failed attempts since the last success (for /healthz). */
  get failures(): number {
    return this.consecutiveFailures;
  }

  /**
   * Sends everything without waiting for linger, until the outbox is empty or
   * `timeoutMs` passes. Resolves true when it emptied.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    this.pump();
    if (this.idle()) return true;
    const emptied = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timedOut = sleep(timeoutMs, this.abort.signal).then(() => false);
    return Promise.race([emptied, timedOut]);
  }

  /** Abandons retries and requests in flight; their rows stay in the outbox for the next start. */
  stop(): void {
    clearTimeout(this.lingerTimer);
    this.abort.abort();
  }

  private idle(): boolean {
    return this.untakenCount === 0 && this.inFlight === 0;
  }

  private pump(): void {
    if (this.abort.signal.aborted) return;
    while (this.inFlight < this.options.sendConcurrency && this.untakenCount > 0 && this.retryLine.length === 0) {
      const dueAt = this.oldestUntakenAt + this.options.batchLingerMs;
      const full = this.untakenCount >= this.options.batchMaxEvents || this.untakenBytes >= this.options.batchMaxBytes;
      // A small batch leaves only when no request is in flight: what arrives meanwhile joins the next
      // one, so batches grow with load and need no timer (the worker serves one location's batches one
      // after another; concurrent small batches would only queue there). Batches at least half full use
      // the spare slots, so a heavy stream or a backlog keeps several requests overlapping.
      const small = this.untakenCount < this.options.batchMaxEvents / 2 && this.untakenBytes < this.options.batchMaxBytes / 2;
      if (small && !this.draining && this.inFlight > 0) return;
      if (!full && !this.draining && Date.now() < dueAt) {
        if (!this.lingerTimer) {
          this.lingerTimer = setTimeout(() => {
            this.lingerTimer = undefined;
            this.pump();
          }, dueAt - Date.now());
        }
        return;
      }
      const batch = this.take();
      if (batch.length === 0) {
        // The counters drifted from the table (cannot happen unless rows were removed behind our back): resync.
        this.log.error("outbox counters out of step with the table; resetting", { untaken: this.untakenCount });
        this.untakenCount = 0;
        this.untakenBytes = 0;
        break;
      }
      this.inFlight++;
      void this.deliver(batch).finally(() => {
        this.inFlight--;
        if (this.idle()) for (const wake of this.idleWaiters.splice(0)) wake();
        this.pump();
      });
    }
  }

  /** The next batch after the cursor: at most batchMaxEvents rows and batchMaxBytes bytes (at least one row). */
  private take(): OutboxRow[] {
    const rows = this.outbox.readAfter(this.cursor, this.options.batchMaxEvents);
    let bytes = ENVELOPE_BYTES;
    let n = 0;
    for (const row of rows) {
      const next = bytes + row.bytes + (n > 0 ? 1 : 0);
      if (n > 0 && next > this.options.batchMaxBytes) break;
      bytes = next;
      n++;
    }
    const batch = rows.slice(0, n);
    if (batch.length) {
      this.cursor = batch[batch.length - 1]!.seq;
      this.untakenCount -= batch.length;
      this.untakenBytes -= batch.reduce((sum, r) => sum + r.bytes, 0);
    }
    return batch;
  }

  /** Posts `rows` until the worker takes them (or the sender stops). */
  private async deliver(rows: OutboxRow[]): Promise<void> {
    try {
      await this.attempt(rows);
    } finally {
      this.leaveRetryLine(rows[0]!.seq);
    }
  }

  private async attempt(rows: OutboxRow[]): Promise<void> {
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      const outcome = await this.post(rows);
      if (outcome.kind === "ok") {
        this.settle(rows, outcome.response);
        return;
      }
      if (outcome.kind === "split") {
        if (rows.length === 1) {
          this.log.error("worker refused a single event; dead-lettering it", { status: outcome.status, errors: outcome.errors });
          this.deadLetterRows(rows, outcome.errors.length ? outcome.errors : [`HTTP ${outcome.status}`]);
          this.remove(rows);
          return;
        }
        this.log.warn("worker refused a batch whole; splitting it", { status: outcome.status, events: rows.length, errors: outcome.errors });
        const half = Math.ceil(rows.length / 2);
        await this.deliver(rows.slice(0, half));
        await this.deliver(rows.slice(half));
        return;
      }
      if (this.abort.signal.aborted) return; // stopped while in flight: the rows stay spooled
      this.consecutiveFailures++;
      this.lastError = outcome.reason;
      const delay = outcome.retryAfterMs ?? backoffDelay(attempt, { minMs: this.options.retryMinMs, maxMs: this.options.retryMaxMs });
      this.metrics.retries.inc();
      this.log[attempt === 0 ? "warn" : "debug"]("send failed; will retry", { reason: outcome.reason, attempt: attempt + 1, delayMs: delay, events: rows.length });
      await this.awaitTurn(rows[0]!.seq, delay);
    }
  }

  /** Joins the retry line (kept in seq order); the first in line sleeps `delay`, the others wait to become first. */
  private async awaitTurn(first: number, delay: number): Promise<void> {
    let entry = this.retryLine.find((e) => e.first === first);
    if (!entry) {
      entry = { first, wake: () => {} };
      const at = this.retryLine.findIndex((e) => e.first > first);
      this.retryLine.splice(at === -1 ? this.retryLine.length : at, 0, entry);
    }
    if (this.retryLine[0] === entry) return sleep(delay, this.abort.signal);
    const waiting = entry;
    await new Promise<void>((resolve) => {
      waiting.wake = resolve;
      this.abort.signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  private leaveRetryLine(first: number): void {
    const at = this.retryLine.findIndex((e) => e.first === first);
    if (at === -1) return;
    this.retryLine.splice(at, 1);
    if (at === 0) this.retryLine[0]?.wake();
  }

  private async post(rows: OutboxRow[]): Promise<Outcome> {
    const body = `{"events":[${rows.map((r) => r.event).join(",")}]}`;
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(this.options.ingestUrl, {
        method: "POST",
        // The answers are small: compressing them costs both sides more than it saves.
        headers: { authorization: `Bearer ${this.options.ingestToken}`, "content-type": "application/json", "accept-encoding": "identity" },
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.sendTimeoutMs)]),
      });
    } catch (e) {
      this.metrics.requests.inc(1, { status: "error" });
      const err = e as Error & { cause?: { code?: string } };
      return { kind: "retry", reason: `network: ${err.cause?.code ?? err.name}: ${err.cause ? String((err.cause as Error).message ?? err.cause) : err.message}` };
    }
    const text = await res.text().catch(() => "");
    this.metrics.sendLatency.observe((performance.now() - started) / 1000);
    this.metrics.requests.inc(1, { status: String(res.status) });

    if (res.status === 200) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const parsed = ingestResponse.safeParse(json);
      if (parsed.success) return { kind: "ok", response: parsed.data };
      return { kind: "retry", reason: `200 with a body that is not an ingest response: ${text.slice(0, 200)}` };
    }
    const errors = describeError(text);
    if (res.status === 400 || res.status === 413) return { kind: "split", status: res.status, errors };
    if (res.status === 401 || res.status === 403) {
      this.log.error("the worker refused the ingest token; check INGEST_TOKEN (events stay spooled)", { status: res.status, errors });
    } else if (res.status === 404 || res.status === 405) {
      this.log.error("the ingest URL is wrong; check INGEST_URL (events stay spooled)", { status: res.status, url: this.options.ingestUrl });
    }
    return { kind: "retry", reason: `HTTP ${res.status}: ${errors.join("; ")}`, retryAfterMs: parseRetryAfter(res.headers.get("retry-after")) };
  }

  /** A 200: dead-letter what the worker rejected, then remove the whole batch. */
  private settle(rows: OutboxRow[], response: IngestResponse): void {
    const rejected = response.rejected.filter((r) => rows[r.index] !== undefined);
    for (const r of rejected) {
      this.deadLetters.write({ reason: "rejected", errors: r.errors, source: { outboxSeq: rows[r.index]!.seq }, event: JSON.parse(rows[r.index]!.event) });
    }
    if (response.accepted + response.duplicates + response.rejected.length !== rows.length) {
      this.log.warn("ingest response does not add up to the batch", { events: rows.length, ...response, rejected: response.rejected.length });
    }
    this.remove(rows);
    this.metrics.sent.inc(rows.length);
    this.metrics.acknowledged.inc(response.accepted);
    this.metrics.duplicates.inc(response.duplicates);
    this.metrics.rejected.inc(rejected.length);
    this.metrics.deadLettered.inc(rejected.length, { reason: "rejected" });
    if (rejected.length) this.log.warn("worker rejected events; dead-lettered", { count: rejected.length, first: rejected[0]!.errors });
    this.consecutiveFailures = 0;
    this.lastSuccessAt = Date.now();
  }

  private deadLetterRows(rows: OutboxRow[], errors: string[]): void {
    for (const row of rows) this.deadLetters.write({ reason: "rejected", errors, source: { outboxSeq: row.seq }, event: JSON.parse(row.event) });
    this.metrics.rejected.inc(rows.length);
    this.metrics.deadLettered.inc(rows.length, { reason: "rejected" });
  }

  private remove(rows: OutboxRow[]): void {
    this.outbox.remove(rows[0]!.seq, rows[rows.length - 1]!.seq);
  }
}

/** The worker's `{"error","issues"}` as lines, or the raw text. */
export function describeError(text: string): string[] {
  try {
    const parsed = errorBody.safeParse(JSON.parse(text));
    if (parsed.success) return [parsed.data.error, ...parsed.data.issues];
  } catch {
    // not JSON
  }
  return text ? [text.slice(0, 500)] : [];
}
