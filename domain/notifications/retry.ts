/**
 * When to try a notification again. Network errors, 5xx and 429 are worth
 * another attempt (429's Retry-After is honoured); any other 4xx means the
 * receiver refuses this request as it is, and retrying would not change that.
 * Attempts stop RETRY_FOR_MS after the notification was queued.
 */

/** How long a notification is retried, from when it was queued. */
export const RETRY_FOR_MS = 24 * 60 * 60_000;
/** First retry after about this long; each next one doubles, up to RETRY_CAP_MS. */
export const RETRY_BASE_MS = 2_000;
export const RETRY_CAP_MS = 60 * 60_000;
/** How long one attempt may take before it counts as a network error. */
export const ATTEMPT_TIMEOUT_MS = 10_000;

/** What one attempt came to: an HTTP status, or no answer at all. */
export type AttemptResult = { status: number; retryAfter: string | null } | { status: null; error: string };

export type Verdict = { kind: "sent" } | { kind: "retry"; at: number } | { kind: "failed"; error: string };

/**
 * Backoff before attempt `attempts + 1`, after `attempts` failed ones:
 * BASE·2^(attempts−1) capped, times a jitter factor in [0.5, 1) so that many
 * locations failing at once do not retry in step. `jitter` is a number in
 * [0, 1) (Math.random() in production; given, so this stays pure).
 */
export function backoffMs(attempts: number, jitter: number): number {
  const exp = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.5 + jitter / 2));
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The verdict on an attempt: `attempts` counts it; `queuedAt` starts the
 * 24 hours. A retry due after the 24 hours is a failure now, not an alarm later.
 */
export function judgeAttempt(result: AttemptResult, attempts: number, queuedAt: number, now: number, jitter: number): Verdict {
  if (result.status !== null && result.status >= 200 && result.status < 300) return { kind: "sent" };
  const retryable = result.status === null || result.status === 429 || result.status >= 500;
  const what = result.status === null ? result.error : `HTTP ${result.status}`;
  if (!retryable) return { kind: "failed", error: `${what}: the receiver refused it (not retried)` };
  const asked = result.status === 429 ? retryAfterMs(result.retryAfter, now) : null;
  // A 429's Retry-After replaces the backoff (the receiver knows its limits), but at least 1 s apart.
  const at = now + Math.max(1_000, asked ?? backoffMs(attempts, jitter));
  if (at > queuedAt + RETRY_FOR_MS) return { kind: "failed", error: `${what}; gave up after ${attempts} attempts over 24 hours` };
  return { kind: "retry", at };
}
