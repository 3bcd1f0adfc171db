import type { ReadingEntry } from "../../domain/location/entries";
import { commitsToDrop, nextRetentionDue, type CommitAge } from "../../domain/location/retention";
import type { WriteMeter } from "../sql";
import type { OpenLocation } from "./open-location";
import { READING_TABLES } from "./schema";

/**
 * The readings retention dropped live on in the projections: every pass folds
 * them into tables of the projections' shape under this prefix (the "base":
 * the projections of the dropped prefix of the log), so a rebuild starts from
 * the base and folds only the retained log, and loses no total.
 */
export const BASE = "base_";
/** Entries read (and ids deleted) per statement: one JSON parameter each, far under the 2 MB limit with 128-char ids. */
const PAGE = 2_000;

const isReading = (e: { type: string }): e is ReadingEntry => e.type === "reading";

/**
 * RETENTION_DAYS in storage: drops readings recorded before the retention
 * period, a bounded chunk per alarm run (domain/location/retention.ts picks
 * it), oldest first. System entries (rules set, alerts, commands) are kept:
 * they define the action projections and a rebuild replays them. The newest
 * commit is never dropped: it holds the head.
 *
 * `meta.retained` is the last seq dropped: events after it are held, reads
 * before it answer 410 with the first seq still held.
 */
export class Retention {
  constructor(private readonly sql: SqlStorage) {}

  /** The last seq dropped (0: nothing was). */
  droppedUpTo(): number {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'retained'").toArray()[0];
    return row ? Number(row.value) : 0;
  }

  /**
   * The log's commits oldest first, read a page at a time: each page is read
   * whole (toArray), so no statement is left open for the caller to break out
   * of (an open statement would lock the tables a rebuild's swap drops).
   */
  private *commits(): Generator<CommitAge> {
    let after = -1;
    for (;;) {
      const page = this.sql
        .exec<{ first_seq: number; count: number; recorded_at: number }>(
          "SELECT first_seq, count, recorded_at FROM commits WHERE first_seq > ? ORDER BY first_seq LIMIT 100",
          after,
        )
        .toArray();
      for (const c of page) yield { firstSeq: c.first_seq, count: c.count, recordedAt: c.recorded_at };
      if (page.length < 100) return;
      after = page.at(-1)!.first_seq;
    }
  }

  private newestFirstSeq(): number {
    return this.sql.exec<{ n: number | null }>("SELECT max(first_seq) AS n FROM commits").one().n ?? 0;
  }

  /** When the oldest reading ages out (null: nothing can). */
  nextDue(retention: number | null): number | null {
    if (retention === null) return null;
    const oldest = this.sql.exec<{ first_seq: number; count: number; recorded_at: number }>(
      "SELECT first_seq, count, recorded_at FROM commits ORDER BY first_seq LIMIT 1",
    ).toArray()[0];
    const commit = oldest && { firstSeq: oldest.first_seq, count: oldest.count, recordedAt: oldest.recorded_at };
    return nextRetentionDue(commit, this.newestFirstSeq(), retention);
  }

  /** The commits one pass drops at `now` (oldest first; empty when nothing is due). */
  due(now: number, retention: number): CommitAge[] {
    return commitsToDrop(this.commits(), this.newestFirstSeq(), now, retention);
  }

  /**
   * Drops `commits` (from `due`): folds their readings into the base tables,
   * deletes the readings and the commits, records the new retained start.
   * The caller has checkpointed the projections past them (the tail folded
   * again on wake must still be in the log). Call in a transaction.
   */
  drop(meter: WriteMeter, open: OpenLocation, commits: readonly CommitAge[]): void {
    const first = commits[0];
    const last = commits.at(-1);
    if (!first || !last) return;
    const after = first.firstSeq - 1;
    const upTo = last.firstSeq + last.count - 1;
    for (const table of READING_TABLES) {
      const { sql } = this.sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table).one();
      meter.run(sql.replace(/^CREATE TABLE\s+"?\w+"?/, `CREATE TABLE IF NOT EXISTS ${BASE}${table}`));
    }
    const readings: ReadingEntry[] = [];
    for (let from = after; from < upTo; from += PAGE) readings.push(...open.log.entries(from, Math.min(upTo, from + PAGE)).filter(isReading));
    open.projections.foldInto(meter, readings, BASE);
    open.calendar.foldInto(meter, readings, BASE);
    for (let i = 0; i < readings.length; i += PAGE) {
      const ids = [...new Set(readings.slice(i, i + PAGE).map((r) => r.id))];
      meter.run(
        "DELETE FROM events WHERE type = 'reading' AND seq > ? AND seq <= ? AND id IN (SELECT value FROM json_each(?))",
        after,
        upTo,
        JSON.stringify(ids),
      );
    }
    meter.run("DELETE FROM commits WHERE first_seq <= ?", last.firstSeq);
    meter.run("INSERT INTO meta (key, value) VALUES ('retained', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(upTo));
  }

  /**
   * For a rebuild: copies the base (the dropped prefix's projections) into
   * the tables named `prefix` + table, and answers the seq it covers: the
   * rebuild folds the log after it.
   */
  seed(meter: WriteMeter, prefix: string): number {
    const dropped = this.droppedUpTo();
    if (dropped === 0) return 0;
    for (const table of READING_TABLES) meter.run(`INSERT INTO ${prefix}${table} SELECT * FROM ${BASE}${table}`);
    return dropped;
  }
}
