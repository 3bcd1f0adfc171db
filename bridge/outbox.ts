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
 * The durable spool between the sources and the sender. A row is written (and
 * committed) before its message is acknowledged to the source, and deleted only
 * after the worker acknowledged it. `seq` is assigned here and only grows, so
 * the sender can read forward from a cursor.
 */
export class Outbox {
  private readonly insert: StatementSync;
  private readonly selectAfter: StatementSync;
  private readonly deleteRange: StatementSync;
  private readonly minPosition: StatementSync;
  private nextSeq: number;
  private count: number;
  private untakenBytesAtOpen: number;

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
    this.selectAfter = db.prepare("SELECT seq, event, bytes FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?");
    this.deleteRange = db.prepare("DELETE FROM outbox WHERE seq BETWEEN ? AND ?");
    this.minPosition = db.prepare("SELECT MIN(position) AS position FROM outbox WHERE partition = ?");
    const stats = db.prepare("SELECT COALESCE(MAX(seq), 0) AS maxSeq, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM outbox").get() as {
      maxSeq: number;
      n: number;
      bytes: number;
    };
    this.nextSeq = stats.maxSeq + 1;
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

  /** Appends one event and commits it (autocommit): durable when this returns. */
  add(event: string, position?: SourcePosition): OutboxRow {
    const seq = this.nextSeq;
    const bytes = Buffer.byteLength(event);
    this.insert.run(seq, event, bytes, position?.partition ?? null, position?.sequence ?? null);
    this.nextSeq++;
    this.count++;
    return { seq, event, bytes };
  }

  /** Oldest rows after `cursor`, at most `limit` of them. */
  readAfter(cursor: number, limit: number): OutboxRow[] {
    return this.selectAfter.all(cursor, limit) as unknown as OutboxRow[];
  }

  /** Removes the acknowledged rows `first..last` (a batch is always a contiguous range). */
  remove(first: number, last: number): void {
    const { changes } = this.deleteRange.run(first, last);
    this.count -= Number(changes);
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
