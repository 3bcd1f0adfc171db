import { randomUUID } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import type { Checkpoint, CheckpointStore, PartitionOwnership } from "@azure/event-hubs";

/**
 * Event Hubs checkpoints and partition ownership kept in the bridge's own
 * SQLite file (next to the outbox), so a restarted bridge resumes where the
 * worker last acknowledged. Ownership claims honour etags, as the SDK's load
 * balancer expects; bridges on different machines would need a shared store
 * (such as @azure/eventhubs-checkpointstore-blob) instead.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS eh_checkpoint (
        namespace TEXT NOT NULL, hub TEXT NOT NULL, consumer_group TEXT NOT NULL, partition_id TEXT NOT NULL,
        sequence_number INTEGER NOT NULL, offset TEXT NOT NULL,
        PRIMARY KEY (namespace, hub, consumer_group, partition_id)
      );
      CREATE TABLE IF NOT EXISTS eh_ownership (
        namespace TEXT NOT NULL, hub TEXT NOT NULL, consumer_group TEXT NOT NULL, partition_id TEXT NOT NULL,
        owner_id TEXT NOT NULL, modified_ms INTEGER NOT NULL, etag TEXT NOT NULL,
        PRIMARY KEY (namespace, hub, consumer_group, partition_id)
      );
    `);
  }

  async listCheckpoints(namespace: string, hub: string, consumerGroup: string): Promise<Checkpoint[]> {
    const rows = this.db
      .prepare("SELECT partition_id, sequence_number, offset FROM eh_checkpoint WHERE namespace = ? AND hub = ? AND consumer_group = ?")
      .all(namespace, hub, consumerGroup) as { partition_id: string; sequence_number: number; offset: string }[];
    return rows.map((r) => ({
      fullyQualifiedNamespace: namespace,
      eventHubName: hub,
      consumerGroup,
      partitionId: r.partition_id,
      sequenceNumber: r.sequence_number,
      offset: r.offset,
    }));
  }

  async updateCheckpoint(c: Checkpoint): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO eh_checkpoint (namespace, hub, consumer_group, partition_id, sequence_number, offset) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET sequence_number = excluded.sequence_number, offset = excluded.offset`,
      )
      .run(c.fullyQualifiedNamespace, c.eventHubName, c.consumerGroup, c.partitionId, c.sequenceNumber, c.offset);
  }

  async listOwnership(namespace: string, hub: string, consumerGroup: string): Promise<PartitionOwnership[]> {
    const rows = this.db
      .prepare("SELECT partition_id, owner_id, modified_ms, etag FROM eh_ownership WHERE namespace = ? AND hub = ? AND consumer_group = ?")
      .all(namespace, hub, consumerGroup) as { partition_id: string; owner_id: string; modified_ms: number; etag: string }[];
    return rows.map((r) => ({
      fullyQualifiedNamespace: namespace,
      eventHubName: hub,
      consumerGroup,
      partitionId: r.partition_id,
      ownerId: r.owner_id,
      lastModifiedTimeInMs: r.modified_ms,
      etag: r.etag,
    }));
  }

  /** Claims succeed only if the stored etag is the one the claimant saw (or there is none yet). */
  async claimOwnership(claims: PartitionOwnership[]): Promise<PartitionOwnership[]> {
    const current = this.db.prepare(
      "SELECT etag FROM eh_ownership WHERE namespace = ? AND hub = ? AND consumer_group = ? AND partition_id = ?",
    );
    const upsert = this.db.prepare(
      `INSERT INTO eh_ownership (namespace, hub, consumer_group, partition_id, owner_id, modified_ms, etag) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET owner_id = excluded.owner_id, modified_ms = excluded.modified_ms, etag = excluded.etag`,
    );
    const won: PartitionOwnership[] = [];
    for (const claim of claims) {
      const key = [claim.fullyQualifiedNamespace, claim.eventHubName, claim.consumerGroup, claim.partitionId] as const;
      const row = current.get(...key) as { etag: string } | undefined;
      if (row && row.etag !== claim.etag) continue;
      const etag = randomUUID();
      const modified = Date.now();
      upsert.run(...key, claim.ownerId, modified, etag);
      won.push({ ...claim, etag, lastModifiedTimeInMs: modified });
    }
    return won;
  }
}
