import type { Acknowledgement, NotificationState } from "../../protocol/notifications";
import { isoString } from "../../protocol/time";
import type { AlertEntry, Entry } from "../../domain/location/entries";
import type { WriteMeter } from "../sql";
import { NOTIFICATION_TABLES } from "./schema";

type NotificationRow = {
  id: string;
  seq: number;
  alert_id: string;
  channel_id: string;
  event: string;
  queued_at: number;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_at: number | null;
  done_at: number | null;
};

/** A notification still waiting for its outcome, as the sender needs it. */
export interface PendingNotification {
  id: string;
  alertId: string;
  channelId: string;
  queuedAt: number;
  attempts: number;
  nextAt: number;
}

const toState = (r: NotificationRow): NotificationState => ({
  id: r.id,
  alertId: r.alert_id,
  channelId: r.channel_id,
  event: r.event as NotificationState["event"],
  status: r.status as NotificationState["status"],
  attempts: r.attempts,
  lastStatus: r.last_status,
  queuedAt: isoString(r.queued_at),
  doneAt: r.done_at === null ? null : isoString(r.done_at),
});

const isAlert = (e: Entry): e is AlertEntry => e.type === "alert-raised" || e.type === "alert-cleared";

/**
 * The location's notifications and acknowledgements:
 * - `notify_outbox`: alert changes committed but not yet fanned out to the
 *   channels (one row per alert change, written in the alert's transaction,
 *   removed in the fan-out's);
 * - `notifications`: a projection of the log's `notification-*` entries
 *   (pending until an outcome), plus the sender's attempt count and next
 *   attempt, which are not log entries (a retry is not an event; a rebuild
 *   starts a pending notification's backoff again);
 * - `acknowledgements`: a projection of `alert-acknowledged`.
 */
export class NotificationStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Alert changes of a live commit go to the outbox (a rebuild does not call this: it notifies nothing again). */
  enqueue(meter: WriteMeter, entries: readonly Entry[]): void {
    for (const e of entries) if (isAlert(e)) meter.run("INSERT INTO notify_outbox (alert_seq) VALUES (?) ON CONFLICT DO NOTHING", e.seq);
  }

  /** Seqs of the alert changes waiting for fan-out, oldest first. */
  outbox(limit: number): number[] {
    return this.sql.exec<{ alert_seq: number }>("SELECT alert_seq FROM notify_outbox ORDER BY alert_seq LIMIT ?", limit).toArray().map((r) => r.alert_seq);
  }

  /** Removes fanned-out alert changes (in the fan-out's transaction). */
  dequeue(meter: WriteMeter, alertSeqs: readonly number[]): void {
    if (alertSeqs.length > 0) meter.run("DELETE FROM notify_outbox WHERE alert_seq IN (SELECT value FROM json_each(?))", JSON.stringify(alertSeqs));
  }

  /** Applies committed entries; others are not its concern. */
  record(meter: WriteMeter, entries: readonly Entry[]): void {
    for (const e of entries) {
      switch (e.type) {
        case "notification-queued":
          meter.run(
            `INSERT INTO notifications (id, seq, alert_id, channel_id, event, queued_at, status, attempts, next_at)
             VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT DO NOTHING`,
            e.notificationId,
            e.seq,
            e.alertId,
            e.channelId,
            e.event,
            e.occurredAt,
            e.occurredAt,
          );
          break;
        case "notification-sent":
        case "notification-failed":
          meter.run(
            "UPDATE notifications SET status = ?, attempts = ?, last_status = ?, last_error = ?, next_at = NULL, done_at = ? WHERE id = ?",
            e.type === "notification-sent" ? "sent" : "failed",
            e.attempts,
            e.status,
            e.type === "notification-failed" ? e.error : null,
            e.occurredAt,
            e.notificationId,
          );
          break;
        case "alert-acknowledged":
          meter.run("INSERT INTO acknowledgements (alert_id, seq, at, comment) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", e.alertId, e.seq, e.occurredAt, e.comment);
          break;
        default:
          break;
      }
    }
  }

  /** Empties the projections and replays the log (the outbox is left as it is). */
  rebuild(meter: WriteMeter, log: Iterable<Entry>): void {
    for (const table of NOTIFICATION_TABLES) meter.run(`DELETE FROM ${table}`);
    for (const e of log) this.record(meter, [e]);
  }

  /** A failed attempt that will be retried: counted, and the next one scheduled (no log entry). */
  retryLater(meter: WriteMeter, id: string, attempts: number, status: number | null, error: string, nextAt: number): void {
    meter.run("UPDATE notifications SET attempts = ?, last_status = ?, last_error = ?, next_at = ? WHERE id = ? AND status = 'pending'", attempts, status, error, nextAt, id);
  }

  /** Pending notifications due at `now`, oldest first. */
  due(now: number, limit: number): PendingNotification[] {
    return this.sql
      .exec<NotificationRow>("SELECT * FROM notifications WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, seq LIMIT ?", now, limit)
      .toArray()
      .map((r) => ({ id: r.id, alertId: r.alert_id, channelId: r.channel_id, queuedAt: r.queued_at, attempts: r.attempts, nextAt: r.next_at! }));
  }

  /** Whether `id` still awaits its outcome. */
  isPending(id: string): boolean {
    return this.sql.exec("SELECT 1 FROM notifications WHERE id = ? AND status = 'pending'", id).toArray().length > 0;
  }

  /** When the next pending notification is due; null when none is. */
  nextDue(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT min(next_at) AS at FROM notifications WHERE status = 'pending'").one().at;
  }

  hasOutbox(): boolean {
    return this.sql.exec("SELECT 1 FROM notify_outbox LIMIT 1").toArray().length > 0;
  }

  /** Notifications of these alerts, by alert id. */
  ofAlerts(alertIds: readonly string[]): Map<string, NotificationState[]> {
    const out = new Map<string, NotificationState[]>();
    if (alertIds.length === 0) return out;
    const rows = this.sql
      .exec<NotificationRow>("SELECT * FROM notifications WHERE alert_id IN (SELECT value FROM json_each(?)) ORDER BY seq", JSON.stringify(alertIds))
      .toArray();
    for (const r of rows) {
      const list = out.get(r.alert_id) ?? [];
      list.push(toState(r));
      out.set(r.alert_id, list);
    }
    return out;
  }

  /** The newest `n` notifications, newest first. */
  recent(n: number): NotificationState[] {
    return this.sql.exec<NotificationRow>("SELECT * FROM notifications ORDER BY seq DESC LIMIT ?", n).toArray().map(toState);
  }

  acknowledgement(alertId: string): Acknowledgement | null {
    const row = this.sql.exec<{ seq: number; at: number; comment: string | null }>("SELECT seq, at, comment FROM acknowledgements WHERE alert_id = ?", alertId).toArray()[0];
    return row ? { seq: row.seq, at: isoString(row.at), comment: row.comment } : null;
  }

  /** Rows of the projections, for comparing an incremental build with a rebuild (attempt bookkeeping left out). */
  dump(): Record<(typeof NOTIFICATION_TABLES)[number], unknown[]> {
    return {
      notifications: this.sql.exec("SELECT id, seq, alert_id, channel_id, event, queued_at, status, done_at FROM notifications ORDER BY id").toArray(),
      acknowledgements: this.sql.exec("SELECT * FROM acknowledgements ORDER BY alert_id").toArray(),
    };
  }
}
