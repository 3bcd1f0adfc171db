import { createHash } from "node:crypto";
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** What the bridge spooled for one incoming QoS 1 packet id of its session. */
export interface Receipt {
  packetId: number;
  /** SHA-256 of the topic and the payload (see `publishDigest`). */
  digest: string;
  /** The id the event got (a message without `$.mid` gets one on receipt). */
  eventId: string;
}

/**
 * The last message spooled under each incoming packet id of the bridge's MQTT
 * session, kept in the state database next to the outbox and written in the
 * same transaction as the event. If the bridge dies after that commit but
 * before the PUBACK left, the broker sends the message again in the same
 * session with the DUP flag and the same packet id; finding it here (same
 * topic and payload) gives the event the id it already has, so the worker
 * stores it once even without `$.mid`.
 *
 * A packet id is reused by the broker only after its PUBACK, so one row per
 * (client id, packet id) is all a redelivery can need: at most 65,535 rows
 * per client id.
 */
export class PublishReceipts {
  private readonly select: StatementSync;
  private readonly upsert: StatementSync;

  constructor(
    db: DatabaseSync,
    private readonly clientId: string,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS mqtt_receipts (
      client_id TEXT NOT NULL,
      packet_id INTEGER NOT NULL,
      digest TEXT NOT NULL,
      event_id TEXT NOT NULL,
      PRIMARY KEY (client_id, packet_id)
    ) WITHOUT ROWID`);
    this.select = db.prepare("SELECT digest, event_id AS eventId FROM mqtt_receipts WHERE client_id = ? AND packet_id = ?");
    this.upsert = db.prepare("INSERT OR REPLACE INTO mqtt_receipts (client_id, packet_id, digest, event_id) VALUES (?, ?, ?, ?)");
  }

  /** The event id already given to this redelivered message, or undefined when it is not the one spooled under its packet id. */
  idOfRedelivery(packetId: number, digest: string): string | undefined {
    const row = this.select.get(this.clientId, packetId) as { digest: string; eventId: string } | undefined;
    return row?.digest === digest ? row.eventId : undefined;
  }

  /** Records a spooled message (inside the outbox transaction that holds its event). */
  record(receipt: Receipt): void {
    this.upsert.run(this.clientId, receipt.packetId, receipt.digest, receipt.eventId);
  }
}

/** Identifies a message's content: its topic (property bag included) and payload. */
export function publishDigest(topic: string, payload: Uint8Array): string {
  return createHash("sha256").update(topic).update("\0").update(payload).digest("base64url");
}
