import type { DatabaseSync, StatementSync } from "node:sqlite";

export interface Delivery {
  location: string;
  id: string;
  deliveredAt: string;
}

/**
 * What the command relay must remember across restarts, in the bridge's
 * state database: the feed cursor, and every command it published — so a
 * command is published at most once per id even if the worker never heard of
 * the delivery (the report is kept until the worker acknowledges it).
 */
export class CommandStore {
  private readonly isDelivered: StatementSync;
  private readonly insertDelivered: StatementSync;
  private readonly unreported: StatementSync;
  private readonly markReported: StatementSync;
  private readonly readCursor: StatementSync;
  private readonly writeCursor: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS command_cursor (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), cursor TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS command_deliveries (
        location TEXT NOT NULL,
        id TEXT NOT NULL,
        delivered_at TEXT NOT NULL,
        reported INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (location, id)
      ) WITHOUT ROWID;
    `);
    this.isDelivered = db.prepare("SELECT 1 FROM command_deliveries WHERE location = ? AND id = ?");
    this.insertDelivered = db.prepare("INSERT OR IGNORE INTO command_deliveries (location, id, delivered_at) VALUES (?, ?, ?)");
    this.unreported = db.prepare("SELECT location, id, delivered_at AS deliveredAt FROM command_deliveries WHERE reported = 0 LIMIT 1000");
    this.markReported = db.prepare("UPDATE command_deliveries SET reported = 1 WHERE location = ? AND id = ?");
    this.readCursor = db.prepare("SELECT cursor FROM command_cursor");
    this.writeCursor = db.prepare(
      "INSERT INTO command_cursor (singleton, cursor) VALUES (1, ?) ON CONFLICT(singleton) DO UPDATE SET cursor = excluded.cursor",
    );
  }

  get cursor(): string {
    return (this.readCursor.get() as { cursor: string } | undefined)?.cursor ?? "";
  }
  set cursor(value: string) {
    this.writeCursor.run(value);
  }

  delivered(location: string, id: string): boolean {
    return this.isDelivered.get(location, id) !== undefined;
  }

  /** Records a publish the broker acknowledged (before anything else can fail). */
  recordDelivery(d: Delivery): void {
    this.insertDelivered.run(d.location, d.id, d.deliveredAt);
  }

  /** Deliveries the worker has not acknowledged yet, oldest first. */
  pendingReports(): Delivery[] {
    return this.unreported.all() as unknown as Delivery[];
  }

  reported(deliveries: readonly Delivery[]): void {
    this.db.exec("BEGIN");
    try {
      for (const d of deliveries) this.markReported.run(d.location, d.id);
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }
}
