import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Outbox } from "../../../bridge/outbox";
import { PublishReceipts, publishDigest } from "../../../bridge/mqtt/receipts";
import { openStateDb } from "../../../bridge/state-db";

describe("publish receipts (ids of messages without $.mid, per packet id)", () => {
  it("finds a redelivery only with the same client id, packet id, topic and payload; a reused packet id replaces the receipt", () => {
    const db = openStateDb(mkdtempSync(join(tmpdir(), "receipts-")), "normal");
    const mine = new PublishReceipts(db, "bridge-a");
    const other = new PublishReceipts(db, "bridge-b");
    const body = new TextEncoder().encode('{"vote":1}');
    const digest = publishDigest("devices/d/messages/events/location=MTC", body);
    mine.record({ packetId: 7, digest, eventId: "id-1" });
    expect(mine.idOfRedelivery(7, digest)).toBe("id-1");
    expect(mine.idOfRedelivery(8, digest)).toBeUndefined();
    expect(other.idOfRedelivery(7, digest)).toBeUndefined();
    expect(mine.idOfRedelivery(7, publishDigest("devices/d/messages/events/location=MTC", new TextEncoder().encode('{"vote":0}')))).toBeUndefined();
    // The topic and payload boundary counts: "a" + "bc" is not "ab" + "c".
    expect(publishDigest("a", new TextEncoder().encode("bc"))).not.toBe(publishDigest("ab", new TextEncoder().encode("c")));
    mine.record({ packetId: 7, digest: "other", eventId: "id-2" });
    expect(mine.idOfRedelivery(7, digest)).toBeUndefined();
    expect(mine.idOfRedelivery(7, "other")).toBe("id-2");
    db.close();
  });

  it("is durable exactly when the outbox transaction that holds the event is", () => {
    const dir = mkdtempSync(join(tmpdir(), "receipts-tx-"));
    let db = openStateDb(dir, "normal");
    let outbox = new Outbox(db);
    let receipts = new PublishReceipts(db, "c");
    outbox.begin();
    outbox.add('{"id":"x"}');
    receipts.record({ packetId: 1, digest: "d1", eventId: "x" });
    outbox.rollback();
    outbox.begin();
    outbox.add('{"id":"y"}');
    receipts.record({ packetId: 2, digest: "d2", eventId: "y" });
    outbox.commit();
    outbox.close();
    db = openStateDb(dir, "normal");
    outbox = new Outbox(db);
    receipts = new PublishReceipts(db, "c");
    expect(receipts.idOfRedelivery(1, "d1")).toBeUndefined();
    expect(receipts.idOfRedelivery(2, "d2")).toBe("y");
    expect(outbox.depth).toBe(1);
    outbox.close();
  });
});
