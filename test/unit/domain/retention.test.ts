import { describe, expect, it } from "vitest";
import { RETENTION_CHUNK_EVENTS, commitsToDrop, nextRetentionDue, retentionMs, type CommitAge } from "../../../domain/location/retention";

const DAY = 86_400_000;

describe("retention policy", () => {
  it("RETENTION_DAYS: unset or empty keeps everything; a positive number of days (decimals allowed)", () => {
    expect(retentionMs(undefined)).toBeNull();
    expect(retentionMs("")).toBeNull();
    expect(retentionMs(" ")).toBeNull();
    expect(retentionMs("30")).toBe(30 * DAY);
    expect(retentionMs(" 7 ")).toBe(7 * DAY);
    expect(retentionMs("0.5")).toBe(DAY / 2);
  });

  it.each(["0", "-3", "thirty", "1e3", "30d", "Infinity", "NaN", "0x10", "1.", ".5"])("RETENTION_DAYS=%j is refused with why", (value) => {
    expect(() => retentionMs(value)).toThrow(`RETENTION_DAYS must be a positive number of days (decimals allowed), or unset to keep every reading; got ${JSON.stringify(value)}`);
  });

  const commit = (firstSeq: number, count: number, recordedAt: number): CommitAge => ({ firstSeq, count, recordedAt });

  it("drops whole aged commits oldest first, never the newest, about RETENTION_CHUNK_EVENTS events per pass", () => {
    const now = 100 * DAY;
    const log = [commit(1, 500, 1 * DAY), commit(501, 500, 2 * DAY), commit(1001, 1, 50 * DAY), commit(1002, 500, 99 * DAY)];
    expect(commitsToDrop(log, 1002, now, 30 * DAY)).toEqual(log.slice(0, 3));
    expect(commitsToDrop(log, 1002, now, 60 * DAY), "recorded 50 days ago: kept under 60 days").toEqual(log.slice(0, 2));
    expect(commitsToDrop(log, 1002, now, 0.5 * DAY), "the newest commit holds the head: never dropped").toEqual(log.slice(0, 3));
    expect(commitsToDrop(log, 1002, now, 200 * DAY)).toEqual([]);

    const many = Array.from({ length: 100 }, (_, i) => commit(1 + i * 500, 500, DAY + i));
    const pass = commitsToDrop(many, many.at(-1)!.firstSeq, now, DAY);
    expect(pass.reduce((n, c) => n + c.count, 0)).toBe(RETENTION_CHUNK_EVENTS);
    const huge = [commit(1, RETENTION_CHUNK_EVENTS * 2, DAY), commit(40_001, 1, 2 * DAY), commit(40_002, 1, 3 * DAY)];
    expect(commitsToDrop(huge, 40_002, now, DAY), "one commit larger than a chunk still goes, alone").toEqual(huge.slice(0, 1));
  });

  it("the next pass is due when the oldest droppable commit ages out; never when nothing can", () => {
    expect(nextRetentionDue(commit(1, 10, 5_000), 11, 1_000)).toBe(6_000);
    expect(nextRetentionDue(commit(1, 10, 5_000), 1, 1_000), "only the newest commit is left").toBeNull();
    expect(nextRetentionDue(undefined, 0, 1_000)).toBeNull();
    expect(nextRetentionDue(commit(1, 10, 5_000), 11, null), "retention off").toBeNull();
  });
});
