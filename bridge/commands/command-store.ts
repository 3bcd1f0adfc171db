import type { DatabaseSync, StatementSync } from "node:sqlite";
import { setImmediate as nextTurn } from "node:timers/promises";

export interface Delivery {
  location: string;
  id: string;
  deliveredAt: string;
}

/** Most deliveries in one report (the contract allows 1000). */
export const REPORT_MAX = 1000;

/**
 * What the command relay must remember across restarts, in the bridge's
 * state database: the feed cursor, and the commands it published that the
 * worker has not acknowledged yet. A command the feed hands out again because
 * the bridge died before saving the cursor is then found here: reported, not
 * published a second time. A delivery is forgotten once the worker
 * acknowledged its report; the cursor is saved before reporting, so by then
 * the feed never hands that command out again.
 *
 * Writes wait for the end of an open outbox transaction: the MQTT source
 * keeps one open for the rest of an event-loop turn, and a write joined to it
 * would be rolled back with it, or fail at BEGIN. Each write here is its own
 * transaction, done synchronously once none is open, so nothing interleaves.
 */
export class CommandStore {
  private readonly isDelivered: StatementSync;
  private readonly insertDelivered: StatementSync;
  private readonly unreported: StatementSync;
  private readonly countUnreported: StatementSync;
  private readonly forget: StatementSync;
  private readonly readCursor: StatementSync;
  private readonly writeCursor: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS command_cursor (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), cursor TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS command_deliveries (
        location TEXT NOT NULL,
        id TEXT NOT NULL,
        delivered_at TEXT NOT NULL,
        PRIMARY KEY (location, id)
      ) WITHOUT ROWID;
    `);
    this.isDelivered = db.prepare("SELECT 1 FROM command_deliveries WHERE location = ? AND id = ?");
    this.insertDelivered = db.prepare("INSERT OR IGNORE INTO command_deliveries (location, id, delivered_at) VALUES (?, ?, ?)");
    this.unreported = db.prepare(
      "SELECT location, id, delivered_at AS deliveredAt FROM command_deliveries ORDER BY delivered_at, location, id LIMIT ?",
    );
    this.countUnreported = db.prepare("SELECT COUNT(*) AS n FROM command_deliveries");
    this.forget = db.prepare("DELETE FROM command_deliveries WHERE location = ? AND id = ?");
    this.readCursor = db.prepare("SELECT cursor FROM command_cursor");
    this.writeCursor = db.prepare(
      "INSERT INTO command_cursor (singleton, cursor) VALUES (1, ?) ON CONFLICT(singleton) DO UPDATE SET cursor = excluded.cursor",
    );
  }

  /** The saved feed position ("" before the first page). */
  get cursor(): string {
    return (this.readCursor.get() as { cursor: string } | undefined)?.cursor ?? "";
  }

  delivered(location: string, id: string): boolean {
    return this.isDelivered.get(location, id) !== undefined;
  }

  /** Records a publish the broker acknowledged; durable when this resolves. */
  async recordDelivery(d: Delivery): Promise<void> {
    await this.write(() => this.insertDelivered.run(d.location, d.id, d.deliveredAt));
  }

  /** Deliveries the worker has not acknowledged yet, oldest first, at most `limit`. */
  pendingReports(limit = REPORT_MAX): Delivery[] {
    return this.unreported.all(limit) as unknown as Delivery[];
  }

  get pendingCount(): number {
    return (this.countUnreported.get() as { n: number }).n;
  }

  /** The worker acknowledged these reports: forget them. */
  async reported(deliveries: readonly Delivery[]): Promise<void> {
    await this.write(() => {
      for (const d of deliveries) this.forget.run(d.location, d.id);
    });
  }

  /** Saves the feed position (after the page before it was published and recorded). */
  async advance(cursor: string): Promise<void> {
    await this.write(() => this.writeCursor.run(cursor));
  }

  private async write(change: () => void): Promise<void> {
    while (this.db.isTransaction) await nextTurn();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      change();
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }
}
