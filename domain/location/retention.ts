/**
 * Retention: how long a location's log keeps its readings.
 *
 * It keys on when the log recorded an event (`recordedAt`), not on when the
 * device says it happened (`occurredAt`, which may lie in the past: a
 * backfill would otherwise be dropped on arrival). Recorded times grow with
 * seq, so what ages out is always a prefix of the log, and "the first seq
 * still held" is one number.
 */

const DAY_MS = 86_400_000;

/** Readings dropped per alarm run: one run's CPU stays bounded however much is due at once. */
export const RETENTION_CHUNK_EVENTS = 20_000;

/**
 * RETENTION_DAYS as milliseconds; unset or empty: null (keep everything).
 * A positive number of days, decimals allowed (0.5 = 12 hours); anything else
 * is a configuration error, thrown with what was wrong.
 */
export function retentionMs(value: string | undefined): number | null {
  if (value === undefined || value.trim() === "") return null;
  const days = Number(value.trim());
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(days) || days <= 0) {
    throw new Error(`RETENTION_DAYS must be a positive number of days (decimals allowed), or unset to keep every reading; got ${JSON.stringify(value)}`);
  }
  return days * DAY_MS;
}

/** What a batch of the log needs for retention: where it starts and when it was recorded. */
export interface CommitAge {
  firstSeq: number;
  count: number;
  recordedAt: number;
}

/**
 * The commits (oldest first, as given) one retention pass drops at `now`:
 * those recorded before `now - retention`, never the newest of the log (it
 * holds the head), whole commits up to about RETENTION_CHUNK_EVENTS events
 * (at least one). `oldest`: the log's commits in seq order (read lazily:
 * this stops at the first it keeps); `newestFirstSeq`: the newest commit's first seq.
 */
export function commitsToDrop(oldest: Iterable<CommitAge>, newestFirstSeq: number, now: number, retention: number): CommitAge[] {
  const drop: CommitAge[] = [];
  let events = 0;
  for (const c of oldest) {
    if (c.firstSeq >= newestFirstSeq || c.recordedAt >= now - retention) break;
    if (drop.length > 0 && events + c.count > RETENTION_CHUNK_EVENTS) break;
    drop.push(c);
    events += c.count;
  }
  return drop;
}

/** When the next retention pass is due: the oldest droppable commit's age-out; null when nothing can age out. */
export function nextRetentionDue(oldest: CommitAge | undefined, newestFirstSeq: number, retention: number | null): number | null {
  if (retention === null || !oldest || oldest.firstSeq >= newestFirstSeq) return null;
  return oldest.recordedAt + retention;
}
