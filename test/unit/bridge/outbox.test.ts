import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Outbox } from "../../../bridge/outbox";
import { openStateDb } from "../../../bridge/state-db";

const dir = () => mkdtempSync(join(tmpdir(), "outbox-"));

describe("outbox", () => {
  it("adds, reads forward from a cursor, removes ranges, and counts", () => {
    const outbox = new Outbox(openStateDb(dir(), "normal"));
    const rows = ["a", "bb", "ccc", "dddd"].map((e) => outbox.add(JSON.stringify(e)));
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(rows[1]).toEqual({ seq: 2, event: '"bb"', bytes: 4 });
    expect(outbox.depth).toBe(4);
    expect(outbox.readAfter(1, 2).map((r) => r.event)).toEqual(['"bb"', '"ccc"']);
    outbox.remove(2, 3);
    expect(outbox.depth).toBe(2);
    expect(outbox.readAfter(0, 10).map((r) => r.seq)).toEqual([1, 4]);
    outbox.close();
  });

  it("keeps what was added across a reopen, and seq never repeats even after emptying", () => {
    const d = dir();
    let outbox = new Outbox(openStateDb(d, "full"));
    outbox.add('"x"');
    outbox.add('"é"');
    outbox.close();
    outbox = new Outbox(openStateDb(d, "normal"));
    expect(outbox.depth).toBe(2);
    expect(outbox.bytesAtOpen).toBe(3 + 4);
    outbox.remove(1, 2);
    expect(outbox.add('"y"').seq).toBe(3);
    outbox.close();
  });

  it("tracks the oldest pending position of each partition", () => {
    const outbox = new Outbox(openStateDb(dir(), "normal"));
    outbox.add("1", { partition: "0", sequence: 10 });
    outbox.add("2", { partition: "1", sequence: 5 });
    outbox.add("3", { partition: "0", sequence: 11 });
    outbox.add("4");
    expect(outbox.oldestPending("0")).toBe(10);
    outbox.remove(1, 1);
    expect(outbox.oldestPending("0")).toBe(11);
    outbox.remove(3, 3);
    expect(outbox.oldestPending("0")).toBeNull();
    expect(outbox.oldestPending("1")).toBe(5);
    outbox.close();
  });

  it("belongs to one bridge at a time: a second opener is refused with a clear message", () => {
    const d = dir();
    const first = openStateDb(d, "normal");
    expect(() => openStateDb(d, "normal")).toThrow(/another bridge using this BRIDGE_STATE_DIR/);
    first.close();
    openStateDb(d, "normal").close();
  });

  it("commits many rows in one transaction: readers and listeners see them only at commit; removals wait for it", () => {
    const outbox = new Outbox(openStateDb(dir(), "normal"));
    const seen: number[][] = [];
    outbox.onSpooled((rows) => seen.push(rows.map((r) => r.seq)));
    outbox.add('"a"');
    outbox.begin();
    outbox.add('"b"');
    outbox.add('"c"');
    expect(outbox.readAfter(0, 10).map((r) => r.seq)).toEqual([1]);
    expect(outbox.depth).toBe(3); // counts toward the limit at once
    let removals = 0;
    outbox.onRemoved(() => removals++);
    outbox.remove(1, 1);
    expect(outbox.depth).toBe(3);
    expect(removals).toBe(0);
    outbox.commit();
    expect(removals).toBe(1); // listeners hear of a deferred removal when it happens
    expect(seen).toEqual([[1], [2, 3]]);
    expect(outbox.readAfter(0, 10).map((r) => r.seq)).toEqual([2, 3]);
    expect(outbox.depth).toBe(2);
    outbox.close();
  });

  it("rolls a failed transaction back as if it never happened", () => {
    const d = dir();
    const outbox = new Outbox(openStateDb(d, "normal"));
    outbox.add('"a"');
    outbox.begin();
    outbox.add('"b"');
    outbox.rollback();
    expect(outbox.depth).toBe(1);
    expect(outbox.add('"c"').seq).toBe(2);
    outbox.close();
    const reopened = new Outbox(openStateDb(d, "normal"));
    expect(reopened.readAfter(0, 10).map((r) => r.event)).toEqual(['"a"', '"c"']);
    reopened.close();
  });
});
