import type { DatabaseSync, StatementSync } from "node:sqlite";
import { setImmediate as nextTurn } from "node:timers/promises";

export interface Delivery {
  location: string;
  id: string;
  deliveredAt: string;
}

/** Where the relay is in the hub's queue: the hub's epoch and its seq of the last command recorded here. */
export interface HubPosition {
  epoch: string | null;
  cursor: number;
}

/**
 * What the command relay must remember across restarts, in the bridge's
 * state database: its position in the hub's queue (epoch and cursor), and the
 * commands it published that the hub has not acknowledged yet. A command the
 * hub hands out again (the bridge died before its report was acknowledged) is
 * then found here: reported, not published a second time.
 *
 * Deliveries are kept per epoch: after the worker's state was wiped, the
 * locations issue `~cmd-7` again, and the new one is not the old one.
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
  private readonly readPosition: StatementSync;
  private readonly writePosition: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      -- The polling relay's tables: its cursor and records mean nothing to the hub.
      DROP TABLE IF EXISTS command_cursor;
      DROP TABLE IF EXISTS command_deliveries;
      CREATE TABLE IF NOT EXISTS command_hub_position (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        epoch TEXT NOT NULL,
        cursor INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS command_hub_deliveries (
        epoch TEXT NOT NULL,
        location TEXT NOT NULL,
        id TEXT NOT NULL,
        delivered_at TEXT NOT NULL,
        PRIMARY KEY (epoch, location, id)
      ) WITHOUT ROWID;
    `);
    this.isDelivered = db.prepare("SELECT delivered_at AS deliveredAt FROM command_hub_deliveries WHERE epoch = ? AND location = ? AND id = ?");
    this.insertDelivered = db.prepare("INSERT OR IGNORE INTO command_hub_deliveries (epoch, location, id, delivered_at) VALUES (?, ?, ?, ?)");
    this.unreported = db.prepare(
      "SELECT location, id, delivered_at AS deliveredAt FROM command_hub_deliveries WHERE epoch = ? ORDER BY delivered_at, location, id",
    );
    this.countUnreported = db.prepare("SELECT COUNT(*) AS n FROM command_hub_deliveries");
    this.forget = db.prepare("DELETE FROM command_hub_deliveries WHERE epoch = ? AND location = ? AND id = ?");
    this.readPosition = db.prepare("SELECT epoch, cursor FROM command_hub_position");
    this.writePosition = db.prepare(
      "INSERT INTO command_hub_position (singleton, epoch, cursor) VALUES (1, ?, ?) ON CONFLICT(singleton) DO UPDATE SET epoch = excluded.epoch, cursor = excluded.cursor",
    );
  }

  /** The saved position (no epoch before the first hello). */
  get position(): HubPosition {
    return (this.readPosition.get() as HubPosition | undefined) ?? { epoch: null, cursor: 0 };
  }

  /**
   * Takes the hub's epoch from its hello. Another epoch than the saved one
   * means the worker's state was wiped: the position starts over, and the
   * deliveries of the old epoch, which no one can record any more, are
   * dropped. Returns how many were dropped (null: the same epoch).
   */
  async adopt(epoch: string): Promise<number | null> {
    if (this.position.epoch === epoch) return null;
    let dropped = 0;
    await this.write(() => {
      dropped = Number(this.db.prepare("DELETE FROM command_hub_deliveries WHERE epoch <> ?").run(epoch).changes);
      this.writePosition.run(epoch, 0);
    });
    return dropped;
  }

  /** When this epoch's command was published and recorded here (null: it was not, or was reported already). */
  deliveredAt(epoch: string, location: string, id: string): string | null {
    return (this.isDelivered.get(epoch, location, id) as { deliveredAt: string } | undefined)?.deliveredAt ?? null;
  }

  /**
   * Records a publish the broker acknowledged and moves the cursor past it,
   * in one transaction; durable when this resolves.
   */
  async recordDelivery(epoch: string, d: Delivery, cursor: number): Promise<void> {
    await this.write(() => {
      this.insertDelivered.run(epoch, d.location, d.id, d.deliveredAt);
      this.writePosition.run(epoch, Math.max(cursor, this.position.epoch === epoch ? this.position.cursor : 0));
    });
  }

  /** This epoch's deliveries the hub has not acknowledged yet, oldest first. */
  pendingReports(epoch: string): Delivery[] {
    return this.unreported.all(epoch) as unknown as Delivery[];
  }

  get pendingCount(): number {
    return (this.countUnreported.get() as { n: number }).n;
  }

  /** The hub acknowledged these (recorded, or unknown to it): forget them. */
  async reported(epoch: string, refs: readonly { location: string; id: string }[]): Promise<void> {
    await this.write(() => {
      for (const d of refs) this.forget.run(epoch, d.location, d.id);
    });
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
