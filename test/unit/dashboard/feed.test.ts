import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RESUME_PAGE, SNAPSHOT_RECENT, type ReadingEvent } from "../../../protocol";
import {
  BACKFILL_LIMIT,
  TABLE_ROWS,
  applyFrame,
  applyOlder,
  backfillRange,
  emptyFeed,
  isStale,
  newerWindow,
  tableOrder,
  type Feed,
} from "../../../dashboard/src/lib/feed";
import type { Frame } from "../../../dashboard/src/lib/frames";
import { T0, climateReport, eventsFrame, range, reading, scoreWindow, snapshot } from "./fixtures";

const seqs = (feed: Feed) => feed.votes.map((r) => r.seq);
const readings = (from: number, to: number) => range(from, to).map((s) => reading(s));

describe("a fresh connection", () => {
  it("shows the snapshot's recent events newest first and resumes from its head", () => {
    const feed = applyFrame(emptyFeed(), snapshot(3, readings(1, 3)), null, 1);
    expect(seqs(feed)).toEqual([3, 2, 1]);
    expect(feed).toMatchObject({ head: 3, cursor: 3, windowAt: 1, lastEventAt: reading(3).recordedAt });
  });

  it("starts from the head even when the snapshot holds only the newest 50 of many", () => {
    const feed = applyFrame(emptyFeed(), snapshot(500, readings(451, 500)), null, 1);
    expect(feed.cursor).toBe(500);
    expect(seqs(feed)).toEqual(range(451, 500).reverse());
  });

  it("replaces what was shown (a card reconnecting without resume)", () => {
    let feed = applyFrame(emptyFeed(), snapshot(3, readings(1, 3)), null, 1);
    feed = applyFrame(feed, snapshot(6, readings(5, 6)), null, 2);
    expect(seqs(feed)).toEqual([6, 5]);
    expect(feed.cursor).toBe(6);
  });
});

describe("live frames", () => {
  it("add events, move the cursor and keep at most 50 rows, newest first", () => {
    let feed = applyFrame(emptyFeed(), snapshot(0, []), null, 1);
    for (let seq = 1; seq <= 70; seq += 7) feed = applyFrame(feed, eventsFrame(seq + 6, readings(seq, seq + 6)), null, 2);
    expect(feed.cursor).toBe(70);
    expect(feed.head).toBe(70);
    expect(seqs(feed)).toEqual(range(21, 70).reverse());
    expect(feed.votes).toHaveLength(TABLE_ROWS);
  });

  it("show an event once however often it arrives", () => {
    const frame = eventsFrame(4, readings(3, 4));
    let feed = applyFrame(emptyFeed(), snapshot(3, readings(1, 3)), null, 1);
    feed = applyFrame(feed, frame, null, 2);
    const again = applyFrame(feed, frame, null, 3);
    expect(seqs(again)).toEqual([4, 3, 2, 1]);
    expect(again.votes).toEqual(feed.votes);
  });

  it("advance the cursor past events the dashboard skipped (unknown kinds)", () => {
    const feed = applyFrame(applyFrame(emptyFeed(), snapshot(2, readings(1, 2)), null, 1), { ...eventsFrame(4, [reading(3)]), lastSeq: 4 }, null, 2);
    expect(feed.cursor).toBe(4);
    expect(seqs(feed)).toEqual([3, 2, 1]);
  });
});

describe("resuming after a drop", () => {
  const before = applyFrame(emptyFeed(), snapshot(10, readings(1, 10)), null, 1);

  it("keeps the cursor at the resume point until the backlog arrives, then at its newest seq", () => {
    // The server had 11..700 while we were away: snapshot (recent 651..700), then backlog pages 11..510, 511..700.
    let feed = applyFrame(before, snapshot(700, readings(651, 700)), 10, 2);
    expect(feed.cursor).toBe(10);
    expect(seqs(feed)).toEqual(range(651, 700).reverse());
    feed = applyFrame(feed, eventsFrame(700, readings(11, 10 + RESUME_PAGE)), 10, 3);
    expect(feed.cursor).toBe(10 + RESUME_PAGE);
    // A drop here resumes from 510, not from 700: nothing in 511..650 is skipped.
    feed = applyFrame(feed, eventsFrame(700, readings(11 + RESUME_PAGE, 700)), 10, 4);
    expect(feed.cursor).toBe(700);
    expect(seqs(feed)).toEqual(range(651, 700).reverse());
  });

  it("starts over when the server's log is behind the resume point (its state was reset)", () => {
    const feed = applyFrame(before, snapshot(2, readings(1, 2).map((r) => ({ ...r, id: `new-${r.seq}` }))), 10, 2);
    expect(feed.cursor).toBe(2);
    expect(feed.votes.map((r) => r.id)).toEqual(["new-2", "new-1"]);
  });

  it("never shows a gap or a duplicate, whatever the drops (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 12 }), // committed batches
        fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 6 }), // frames delivered before each drop
        fc.integer({ min: 1, max: 700 }),
        (batches, drops, page) => {
          const log: ReadingEvent[] = [];
          const commit = (n: number) => {
            const from = log.length + 1;
            for (let seq = from; seq < from + n; seq++) log.push(reading(seq));
            return eventsFrame(log.length, log.slice(from - 1));
          };
          // What the server sends a socket opened with `since` (DESIGN: live), followed by live batches.
          const connect = (since: number | null): Frame[] => {
            const head = log.length;
            const frames = [snapshot(head, log.slice(Math.max(0, head - SNAPSHOT_RECENT)))];
            if (since !== null) for (let after = since; after < head; after += page) frames.push(eventsFrame(head, log.slice(after, Math.min(head, after + page))));
            return frames;
          };

          let feed = emptyFeed();
          let pendingBatches = [...batches];
          for (const delivered of [...drops, Infinity]) {
            const since = feed.cursor;
            const queue = connect(since);
            while (queue.length < delivered && pendingBatches.length > 0) queue.push(commit(pendingBatches.shift()!));
            for (const frame of queue.slice(0, delivered)) feed = applyFrame(feed, frame, since, 0);
            // Batches committed while the socket was down are in the log; the next connect must bring them.
            for (const n of pendingBatches.splice(0, 1)) commit(n);
          }
          const expected = log.slice(-TABLE_ROWS).map((r) => r.seq).reverse();
          expect(seqs(feed)).toEqual(expected);
          expect(feed.cursor).toBe(log.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("the window", () => {
  it("is replaced only by one computed at the same time or later", () => {
    const older = scoreWindow(T0);
    const newer = scoreWindow(T0 + 60_000, 7);
    expect(newerWindow(null, older)).toBe(true);
    expect(newerWindow(older, newer)).toBe(true);
    expect(newerWindow(newer, older)).toBe(false);
    expect(newerWindow(older, older)).toBe(true);
  });

  it("marks data stale when the socket is down or no window arrived yet; while live, pushes keep it current however long", () => {
    const feed = applyFrame(emptyFeed(), snapshot(0, []), null, 1_000);
    expect(isStale(emptyFeed(), true)).toBe(true);
    expect(isStale(feed, true)).toBe(false);
    expect(isStale(feed, false)).toBe(true);
  });

  it("is replaced by a window frame (the window aged with no event), which leaves events and cursor alone", () => {
    let feed = applyFrame(emptyFeed(), snapshot(3, readings(1, 3), T0), null, 100);
    const aged = scoreWindow(T0 + 60_000, 0);
    feed = applyFrame(feed, { type: "window", location: "MTC", head: 3, window: aged, events: [], lastSeq: null }, null, 200);
    expect(feed.window).toEqual(aged);
    expect(feed).toMatchObject({ windowAt: 200, cursor: 3, head: 3 });
    expect(seqs(feed)).toEqual([3, 2, 1]);
  });
});

describe("a resync (a resume too far behind for a backlog)", () => {
  it("starts fresh from the snapshot it follows: the cursor moves to the head and the newest rows are the snapshot's", () => {
    let feed = applyFrame(emptyFeed(), snapshot(10, readings(1, 10)), null, 1);
    // Offline while 2,000 events were committed; the server answers the resume with a snapshot and a resync.
    feed = applyFrame(feed, snapshot(2010, readings(1961, 2010)), 10, 2);
    expect(feed.cursor).toBe(10);
    feed = applyFrame(feed, { type: "resync", location: "MTC", head: 2010, window: null, events: [], lastSeq: null }, 10, 3);
    expect(feed).toMatchObject({ cursor: 2010, head: 2010 });
    expect(seqs(feed)).toEqual(range(1961, 2010).reverse());
  });
});

describe("the VOTES table lists votes only", () => {
  it("leaves climate reports (readings without a vote) out, while they still count as the newest event", () => {
    let feed = applyFrame(emptyFeed(), snapshot(4, [reading(1), climateReport(2), reading(3), climateReport(4)]), null, 1);
    expect(seqs(feed)).toEqual([3, 1]);
    expect(feed.lastEventAt).toBe(climateReport(4).recordedAt);
    feed = applyFrame(feed, eventsFrame(6, [climateReport(5), reading(6)]), null, 2);
    expect(seqs(feed)).toEqual([6, 3, 1]);
    expect(applyOlder(feed, [climateReport(0)]).votes).toEqual(feed.votes);
  });

  it("fills up from older entries when climate reports crowd the votes out of the snapshot", () => {
    // A busy site: 30 of the newest 50 entries are climate reports.
    const recent = range(251, 300).map((seq) => (seq % 5 < 3 ? climateReport(seq) : reading(seq)));
    const feed = applyFrame(emptyFeed(), snapshot(300, recent), null, 1);
    expect(feed.votes).toHaveLength(20);
    const older = backfillRange(feed)!;
    // Before the oldest vote shown (253): the climate reports of 251 and 252 come again, harmlessly.
    expect(older).toEqual({ after: 252 - BACKFILL_LIMIT, limit: BACKFILL_LIMIT });
    const filled = applyOlder(feed, range(older.after + 1, 252).map((seq) => (seq % 5 < 3 ? climateReport(seq) : reading(seq))));
    expect(filled.votes).toHaveLength(TABLE_ROWS);
    expect(filled.votes.every((v) => v.vote !== undefined)).toBe(true);
    expect(backfillRange(filled)).toBeNull();
  });
});

describe("the table's order", () => {
  it("is newest occurredAt first, seq breaking ties, so a late delivery sits at its own time", () => {
    const late = reading(9, { occurredAt: new Date(T0 + 1_500).toISOString() }); // happened between 1 and 2
    const tie = reading(10, { occurredAt: reading(5).occurredAt });
    const ordered = tableOrder([reading(1), reading(2), reading(5), late, tie]);
    expect(ordered.map((r) => r.seq)).toEqual([10, 5, 2, 9, 1]);
  });
});

describe("filling the table from older entries", () => {
  it("asks for the entries before the oldest one shown when the snapshot leaves the table short", () => {
    // 50 newest entries of 300, of which 3 are rule activity: 47 readings.
    const recent = readings(251, 300).filter((r) => r.seq % 17 !== 0);
    const feed = applyFrame(emptyFeed(), snapshot(300, recent), null, 1);
    expect(feed.votes).toHaveLength(47);
    const range = backfillRange(feed);
    expect(range).toEqual({ after: 250 - BACKFILL_LIMIT, limit: BACKFILL_LIMIT });

    const filled = applyOlder(feed, readings(range!.after + 1, range!.after + range!.limit));
    expect(filled.votes).toHaveLength(TABLE_ROWS);
    expect(seqs(filled).slice(-4)).toEqual([251, 250, 249, 248]);
    expect(filled.cursor).toBe(300);
    expect(backfillRange(filled)).toBeNull();
  });

  it("does not ask when the table is full or the log holds nothing older", () => {
    expect(backfillRange(applyFrame(emptyFeed(), snapshot(80, readings(31, 80)), null, 1))).toBeNull();
    expect(backfillRange(applyFrame(emptyFeed(), snapshot(3, readings(1, 3)), null, 1))).toBeNull();
    expect(backfillRange(applyFrame(emptyFeed(), snapshot(0, []), null, 1))).toBeNull();
    expect(backfillRange(applyFrame(emptyFeed(), snapshot(60, readings(41, 60)), null, 1))).toEqual({ after: 0, limit: 40 });
  });

  it("keeps each seq once when the older page overlaps what frames brought meanwhile", () => {
    const feed = applyFrame(emptyFeed(), snapshot(10, readings(6, 10)), null, 1);
    const filled = applyOlder(feed, readings(1, 10));
    expect(seqs(filled)).toEqual(range(1, 10).reverse());
  });
});
