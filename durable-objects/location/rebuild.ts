import type { RebuildResponse } from "../../protocol";
import type { ReadingEntry } from "../../domain/location/entries";
import { isoString } from "../../protocol/time";
import type { WriteMeter } from "../sql";
import type { OpenLocation } from "./open-location";
import { Retention } from "./retention";
import { READING_TABLES } from "./schema";

/**
 * Log entries folded per chunk. Each chunk is one invocation (the POST, then
 * one alarm each), so this bounds a chunk's CPU: measured in docs/BENCHMARKS.md
 * (`npm run bench:scale`), far inside the platform's 30 s per invocation.
 */
export const REBUILD_CHUNK_EVENTS = 20_000;
/** Entries read per query within a chunk: their ids travel as one JSON parameter, kept far under the 2 MB limit with 128-char ids. */
const READ_PAGE = 2_000;
/** The new projections are built in tables of the same shape under this prefix, then renamed over the live ones. */
const SHADOW = "rebuild_";

interface Progress {
  state: "running" | "done";
  /** Log seq the shadow tables include. */
  folded: number;
  chunks: number;
  rowsWritten: number;
  startedAt: number;
  finishedAt: number | null;
}

const isReading = (e: { type: string }): e is ReadingEntry => e.type === "reading";

/**
 * A rebuild of every projection from the log, in chunks that survive
 * eviction: progress lives in `meta` ('rebuild') and the half-built
 * projections in shadow tables, so a fresh instance carries on where the
 * last chunk committed. Reads keep using the live tables (which appends keep
 * updating as usual) until the chunk that reaches the head swaps the shadow
 * tables in, rebuilds the small action projections (rules, alerts, commands,
 * notifications and acknowledgements)
 * from the log's system entries, and sets the checkpoint to the head, all in
 * that chunk's one transaction. The object then reloads its memory.
 *
 * The shell drives it: `start` from the route, `step` once per invocation
 * (the route's first, then its alarm), every call inside a transaction.
 */
export class Rebuild {
  constructor(private readonly sql: SqlStorage) {}

  private progress(): Progress | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'rebuild'").toArray()[0];
    return row ? (JSON.parse(row.value) as Progress) : null;
  }

  private save(meter: WriteMeter, progress: Progress): void {
    meter.run("INSERT INTO meta (key, value) VALUES ('rebuild', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", JSON.stringify(progress));
  }

  /** A rebuild has chunks left to run. */
  get running(): boolean {
    return this.progress()?.state === "running";
  }

  /**
   * Starts a rebuild: empty shadow tables shaped as the live ones are now
   * (their stored DDL, so columns added by later migrations come along),
   * seeded with the projections of what retention dropped (the log's start
   * is gone: its totals are not), so the fold starts after the dropped seqs.
   * A rebuild already running carries on instead. Call in a transaction.
   */
  start(meter: WriteMeter, now: number): void {
    if (this.running) return;
    for (const table of READING_TABLES) {
      meter.run(`DROP TABLE IF EXISTS ${SHADOW}${table}`);
      const { sql } = this.sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table).one();
      meter.run(sql.replace(/^CREATE TABLE\s+"?\w+"?/, `CREATE TABLE ${SHADOW}${table}`));
    }
    const folded = new Retention(this.sql).seed(meter, SHADOW);
    this.save(meter, { state: "running", folded, chunks: 0, rowsWritten: 0, startedAt: now, finishedAt: null });
  }

  /**
   * Folds the next chunk of the log into the shadow tables; the chunk that
   * reaches the head swaps them in. Call in a transaction. True when it
   * swapped: the caller reloads its memory from the new tables.
   */
  step(meter: WriteMeter, open: OpenLocation, now: number): boolean {
    const progress = this.progress();
    if (progress?.state !== "running") return false;
    const before = meter.rowsWritten;
    const head = open.head;
    const upTo = Math.min(head, progress.folded + REBUILD_CHUNK_EVENTS);
    const readings: ReadingEntry[] = [];
    for (let after = progress.folded; after < upTo; after += READ_PAGE) {
      readings.push(...open.log.entries(after, Math.min(upTo, after + READ_PAGE)).filter(isReading));
    }
    open.projections.foldInto(meter, readings, SHADOW);
    open.calendar.foldInto(meter, readings, SHADOW);
    const swap = upTo === head;
    if (swap) {
      for (const table of READING_TABLES) {
        meter.run(`DROP TABLE ${table}`);
        meter.run(`ALTER TABLE ${SHADOW}${table} RENAME TO ${table}`);
      }
      open.actions.rebuild(meter, open.log.systemEntries());
      open.notifications.rebuild(meter, open.log.systemEntries());
      open.calendar.rebuildSettings(meter, open.log.systemEntries());
      open.profiles.rebuild(meter, open.log.systemEntries());
      open.projections.setCheckpoint(meter, head);
    }
    this.save(meter, {
      state: swap ? "done" : "running",
      folded: upTo,
      chunks: progress.chunks + 1,
      rowsWritten: progress.rowsWritten + meter.rowsWritten - before,
      startedAt: progress.startedAt,
      finishedAt: swap ? now : null,
    });
    return swap;
  }

  /** Progress as the API answers it (`head`: the log's head now). */
  status(location: string, head: number): RebuildResponse {
    const p = this.progress();
    if (!p) return idleRebuild(location, head);
    return {
      location,
      state: p.state,
      events: p.folded,
      head,
      chunks: p.chunks,
      rowsWritten: p.rowsWritten,
      startedAt: isoString(p.startedAt),
      finishedAt: p.finishedAt === null ? null : isoString(p.finishedAt),
    };
  }
}

/** A location no rebuild ran on (or with no log at all: nothing to rebuild). */
export const idleRebuild = (location: string, head: number): RebuildResponse => ({
  location,
  state: "idle",
  events: 0,
  head,
  chunks: 0,
  rowsWritten: 0,
  startedAt: null,
  finishedAt: null,
});
