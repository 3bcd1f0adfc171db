import { ingestResponse, type IngestResponse } from "../protocol";
import { backoffDelay, sleep } from "./backoff";
import type { BridgeMetrics } from "./bridge-metrics";
import type { DeadLetterFile } from "./dead-letters";
import type { Logger } from "./log";
import type { Outbox, OutboxRow } from "./outbox";
import { WorkerClient, contractBody, describeAnswer, type HttpAnswer } from "./worker-client";

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
  /**
   * Failures in a row of one batch, each the worker's own 5xx, after which it
   * is split in two to find the event the worker cannot take; such an event
   * alone is dead-lettered after as many.
   */
  maxBatchFailures: number;
}

/** `{"events":[` + `]}` */
const ENVELOPE_BYTES = 13;

type Outcome =
  | { kind: "ok"; response: IngestResponse }
  /**
   * Worth retrying as is: network error, timeout, 5xx, 429, the configuration errors 401/403/404, and any
   * answer that is not the worker's contract. `poison`: the status of a 5xx the worker itself answered
   * (its error body) other than 503, which may be these events' fault.
   */
  | { kind: "retry"; reason: string; retryAfterMs?: number | undefined; poison?: number }
  /** The worker refused the request as a whole (400/413): split it to isolate the culprit. */
  | { kind: "split"; status: number; errors: string[] };

/** A batch's place in the retry line. */
interface Turn {
  first: number;
  wake: () => void;
}

/**
 * Reads the outbox forward and posts it to the worker in batches (by count,
 * bytes and linger time), a bounded number at a time. A batch is retried until
 * the worker answers 200 with counts that add up; only then are its rows
 * removed, and the events the worker rejected written to the dead-letter file.
 * Nothing is ever dropped because the worker is down, misconfigured, or behind
 * something that answers in its place: only the worker's own error body (the
 * contract's) is a verdict on events. One event the worker fails on every time
 * (its own 5xx, MAX_BATCH_FAILURES times in a row) is found by halving its
 * batch and dead-lettered, so it cannot stop the bridge for ever.
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
  private readonly retryLine: Turn[] = [];
  private readonly client: WorkerClient;
  private consecutiveFailures = 0;
  lastSuccessAt: number | null = null;
  lastError: string | null = null;
  /** Answers that were not the worker's contract (retried), since start, and the last one. */
  unrecognisedCount = 0;
  lastUnrecognised: string | null = null;

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
    this.client = new WorkerClient({ token: options.ingestToken, timeoutMs: options.sendTimeoutMs, signal: this.abort.signal });
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
    const turn: Turn = { first: rows[0]!.seq, wake: () => {} };
    try {
      await this.attempt(rows, turn);
    } finally {
      this.leaveRetryLine(turn);
    }
  }

  /**
   * Posts `rows` until the worker takes them. `turn` is the place in the retry
   * line of the batch `rows` belongs to: the halves of a split batch keep it,
   * so no later batch overtakes them.
   */
  private async attempt(rows: OutboxRow[], turn: Turn): Promise<void> {
    /** The worker's own 5xx answers to these very rows, in a row (see `poison`). */
    let poisonFailures = 0;
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      const outcome = await this.post(rows);
      if (outcome.kind === "ok") {
        this.settle(rows, outcome.response);
        return;
      }
      if (outcome.kind === "split") {
        if (rows.length === 1) {
          this.log.error("worker refused a single event; dead-lettering it", { status: outcome.status, errors: outcome.errors });
          this.deadLetterRows(rows, "rejected", outcome.errors.length ? outcome.errors : [`HTTP ${outcome.status}`], outcome.status);
          this.remove(rows);
          return;
        }
        this.log.warn("worker refused a batch whole; splitting it", { status: outcome.status, events: rows.length, errors: outcome.errors });
        await this.bisect(rows, turn);
        return;
      }
      if (this.abort.signal.aborted) return; // stopped while in flight: the rows stay spooled
      this.consecutiveFailures++;
      this.lastError = outcome.reason;
      if (outcome.poison !== undefined && ++poisonFailures >= this.options.maxBatchFailures) {
        // Wait for this batch's turn first: the halves must not overtake an older batch still retrying.
        await this.awaitTurn(turn, 0);
        if (this.abort.signal.aborted) return;
        if (rows.length === 1) {
          this.log.error("the worker failed on one event every time; dead-lettering it", { status: outcome.poison, failures: poisonFailures, reason: outcome.reason });
          this.deadLetterRows(rows, "undeliverable", [`failed ${poisonFailures} times in a row; last: ${outcome.reason}`], outcome.poison);
          this.remove(rows);
          return;
        }
        this.log.warn("the worker failed on a batch every time; splitting it to find the culprit", { status: outcome.poison, failures: poisonFailures, events: rows.length });
        await this.bisect(rows, turn);
        return;
      }
      const delay = outcome.retryAfterMs ?? backoffDelay(attempt, { minMs: this.options.retryMinMs, maxMs: this.options.retryMaxMs });
      this.metrics.retries.inc();
      this.log[attempt === 0 ? "warn" : "debug"]("send failed; will retry", { reason: outcome.reason, attempt: attempt + 1, delayMs: delay, events: rows.length });
      await this.awaitTurn(turn, delay);
    }
  }

  /** Delivers the two halves of `rows` one after the other, in their batch's place in line. */
  private async bisect(rows: OutboxRow[], turn: Turn): Promise<void> {
    this.metrics.splits.inc();
    const half = Math.ceil(rows.length / 2);
    await this.attempt(rows.slice(0, half), turn);
    await this.attempt(rows.slice(half), turn);
  }

  /** Joins the retry line (kept in seq order); the first in line sleeps `delay`, the others wait to become first. */
  private async awaitTurn(turn: Turn, delay: number): Promise<void> {
    if (!this.retryLine.includes(turn)) {
      const at = this.retryLine.findIndex((e) => e.first > turn.first);
      this.retryLine.splice(at === -1 ? this.retryLine.length : at, 0, turn);
    }
    if (this.retryLine[0] === turn) return sleep(delay, this.abort.signal);
    await new Promise<void>((resolve) => {
      turn.wake = resolve;
      this.abort.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    // Woken as the new first in line: the wait for the one before counts as this batch's backoff.
  }

  private leaveRetryLine(turn: Turn): void {
    const at = this.retryLine.indexOf(turn);
    if (at === -1) return;
    this.retryLine.splice(at, 1);
    if (at === 0) this.retryLine[0]?.wake();
  }

  private async post(rows: OutboxRow[]): Promise<Outcome> {
    const answer = await this.client.request("POST", this.options.ingestUrl, `{"events":[${rows.map((r) => r.event).join(",")}]}`);
    if (answer.kind === "network") {
      this.metrics.requests.inc(1, { status: "error" });
      return { kind: "retry", reason: describeAnswer(answer) };
    }
    this.metrics.sendLatency.observe(answer.durationMs / 1000);
    this.metrics.requests.inc(1, { status: String(answer.status) });
    const { status } = answer;

    if (status === 200) {
      const response = contractBody(answer, ingestResponse);
      const problem = response === undefined ? "is not an ingest response" : countsProblem(response, rows.length);
      if (problem === undefined) return { kind: "ok", response: response! };
      return this.unrecognised(answer, `HTTP 200 whose body ${problem}: ${answer.text.slice(0, 200)}`);
    }
    // Only the worker's own error body is a verdict on the events; any other answer came from something in
    // between (a proxy, a WAF, a wrong INGEST_URL) and says nothing about them: retry, never dead-letter.
    if (!answer.error) return this.unrecognised(answer, describeAnswer(answer));
    const errors = [answer.error.error, ...answer.error.issues];
    if (status === 400 || status === 413) return { kind: "split", status, errors };
    if (status === 401 || status === 403) {
      this.log.error("the worker refused the ingest token; check INGEST_TOKEN (events stay spooled)", { status, errors });
    } else if (status === 404 || status === 405) {
      this.log.error("the ingest URL is wrong; check INGEST_URL (events stay spooled)", { status, url: this.options.ingestUrl });
    }
    // The worker failed on this batch (not unavailable: a 503 is an outage, which says nothing about the events).
    const poison = status >= 500 && status !== 503 ? status : undefined;
    return { kind: "retry", reason: describeAnswer(answer), retryAfterMs: answer.retryAfterMs, ...(poison ? { poison } : {}) };
  }

  /** An answer that is not the worker's contract: retried as is, counted and shown on /healthz. */
  private unrecognised(answer: HttpAnswer, reason: string): Outcome {
    // The same answer again goes to debug: a proxy may answer like this for as long as it is misconfigured.
    const level = reason === this.lastUnrecognised ? "debug" : "warn";
    this.unrecognisedCount++;
    this.lastUnrecognised = reason;
    this.metrics.unrecognised.inc(1, { status: String(answer.status) });
    this.log[level]("an answer that is not the worker's contract; retrying the batch (nothing is dead-lettered for it)", { status: answer.status, reason });
    return { kind: "retry", reason, retryAfterMs: answer.retryAfterMs };
  }

  /** A 200: dead-letter what the worker rejected, then remove the whole batch. */
  private settle(rows: OutboxRow[], response: IngestResponse): void {
    const rejected = response.rejected;
    for (const r of rejected) {
      this.deadLetters.write({ reason: "rejected", errors: r.errors, source: { outboxSeq: rows[r.index]!.seq }, event: JSON.parse(rows[r.index]!.event) });
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

  private deadLetterRows(rows: OutboxRow[], reason: "rejected" | "undeliverable", errors: string[], status: number): void {
    for (const row of rows) this.deadLetters.write({ reason, errors, source: { outboxSeq: row.seq, status }, event: JSON.parse(row.event) });
    this.metrics.rejected.inc(rows.length);
    this.metrics.deadLettered.inc(rows.length, { reason });
  }

  private remove(rows: OutboxRow[]): void {
    this.outbox.remove(rows[0]!.seq, rows[rows.length - 1]!.seq);
  }
}

/**
 * Why a 200 cannot be taken as the worker's verdict on `size` events: counts
 * that do not add up, or rejections that do not name distinct events of the
 * batch. Undefined when it can.
 */
export function countsProblem(response: IngestResponse, size: number): string | undefined {
  const { accepted, duplicates, rejected } = response;
  if (accepted + duplicates + rejected.length !== size) {
    return `does not add up to the batch (${accepted} accepted + ${duplicates} duplicates + ${rejected.length} rejected, ${size} sent)`;
  }
  const indexes = new Set(rejected.map((r) => r.index));
  if (indexes.size !== rejected.length || rejected.some((r) => r.index >= size)) return "rejects events the batch does not hold";
  return undefined;
}

/** Kept here for the command relay, which reads the worker's errors the same way. */
export { describeError } from "./worker-client";
