import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Where an event came from in a partitioned, checkpointed source (Event Hubs). */
export interface SourcePosition {
  partition: string;
  sequence: number;
}

export interface OutboxRow {
  seq: number;
  /** The ingest event, serialised once on receipt and posted as is. */
  event: string;
  bytes: number;
}

/**
 * The durable spool between the sources and the sender. A row is committed
 * before its message is acknowledged to the source, and deleted only after the
 * worker acknowledged it. `seq` is assigned here and only grows, so the sender
 * can read forward from a cursor.
 *
 * Rows are committed one by one, or many in one transaction (`begin` …
 * `commit`) when a source can hold back its acknowledgements until the commit.
 * Readers see committed rows only; removals asked for while a transaction is
 * open wait for its end, so a transaction holds nothing but new rows.
 */
export class Outbox {
  private readonly insert: StatementSync;
  private readonly selectAfter: StatementSync;
  private readonly deleteRange: StatementSync;
  private readonly minPosition: StatementSync;
  private nextSeq: number;
  private count: number;
  private untakenBytesAtOpen: number;
  /** Highest committed seq: what readers may see. */
  private committedSeq: number;
  /** Rows of the open transaction, or null. */
  private batch: OutboxRow[] | null = null;
  private deferredRemovals: [number, number][] = [];
  private readonly spooledListeners: ((rows: OutboxRow[]) => void)[] = [];
  private readonly removedListeners: (() => void)[] = [];

  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY,
        event TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        partition TEXT,
        position INTEGER
      );
      CREATE INDEX IF NOT EXISTS outbox_by_position ON outbox (partition, position) WHERE partition IS NOT NULL;
    `);
    this.insert = db.prepare("INSERT INTO outbox (seq, event, bytes, partition, position) VALUES (?, ?, ?, ?, ?)");
    this.selectAfter = db.prepare("SELECT seq, event, bytes FROM outbox WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
    this.deleteRange = db.prepare("DELETE FROM outbox WHERE seq BETWEEN ? AND ?");
    this.minPosition = db.prepare("SELECT MIN(position) AS position FROM outbox WHERE partition = ?");
    const stats = db.prepare("SELECT COALESCE(MAX(seq), 0) AS maxSeq, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM outbox").get() as {
      maxSeq: number;
      n: number;
      bytes: number;
    };
    this.nextSeq = stats.maxSeq + 1;
    this.committedSeq = stats.maxSeq;
    this.count = stats.n;
    this.untakenBytesAtOpen = stats.bytes;
  }

  /** Events waiting for the worker's acknowledgement. */
  get depth(): number {
    return this.count;
  }

  /** Bytes held when the outbox was opened (what a restarted sender starts with). */
  get bytesAtOpen(): number {
    return this.untakenBytesAtOpen;
  }

  /** Called with rows once they are committed (the sender listens). */
  onSpooled(listener: (rows: OutboxRow[]) => void): void {
    this.spooledListeners.push(listener);
  }

  /** Called after rows were removed (the depth went down). */
  onRemoved(listener: () => void): void {
    this.removedListeners.push(listener);
  }

  /** Appends one event: durable when this returns, or at `commit` inside a transaction. */
  add(event: string, position?: SourcePosition): OutboxRow {
    const row = { seq: this.nextSeq, event, bytes: Buffer.byteLength(event) };
    this.insert.run(row.seq, event, row.bytes, position?.partition ?? null, position?.sequence ?? null);
    this.nextSeq++;
    this.count++;
    if (this.batch) {
      this.batch.push(row);
    } else {
      this.committedSeq = row.seq;
      for (const listener of this.spooledListeners) listener([row]);
    }
    return row;
  }

  begin(): void {
    if (this.batch) throw new Error("outbox transaction already open");
    this.db.exec("BEGIN");
    this.batch = [];
  }

  /** Commits the open transaction; its rows are durable (and visible) when this returns. */
  commit(): void {
    const rows = this.batch;
    if (!rows) return;
    this.db.exec("COMMIT");
    this.batch = null;
    if (rows.length) this.committedSeq = rows[rows.length - 1]!.seq;
    this.runDeferredRemovals();
    if (rows.length) for (const listener of this.spooledListeners) listener(rows);
  }

  /** Abandons the open transaction (after a failed commit): its rows never existed. */
  rollback(): void {
    const rows = this.batch;
    if (!rows) return;
    this.batch = null;
    if (this.db.isTransaction) this.db.exec("ROLLBACK");
    this.nextSeq -= rows.length;
    this.count -= rows.length;
    this.runDeferredRemovals();
  }

  /** Committed rows after `cursor`, oldest first, at most `limit` of them. */
  readAfter(cursor: number, limit: number): OutboxRow[] {
    return this.selectAfter.all(cursor, this.committedSeq, limit) as unknown as OutboxRow[];
  }

  /** Removes the acknowledged rows `first..last` (a batch is always a contiguous range). */
  remove(first: number, last: number): void {
    if (this.batch) {
      this.deferredRemovals.push([first, last]);
      return;
    }
    const { changes } = this.deleteRange.run(first, last);
    this.count -= Number(changes);
    for (const listener of this.removedListeners) listener();
  }

  private runDeferredRemovals(): void {
    for (const [first, last] of this.deferredRemovals.splice(0)) this.remove(first, last);
  }

  /** The smallest source position still waiting in `partition`, or null when none is. */
  oldestPending(partition: string): number | null {
    const row = this.minPosition.get(partition) as { position: number | null } | undefined;
    return row?.position ?? null;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
