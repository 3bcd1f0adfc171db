import { describe, expect, it } from "vitest";
import { readFrame } from "../../../dashboard/src/lib/frames";
import { T0, reading, scoreWindow } from "./fixtures";

const text = (value: unknown) => JSON.stringify(value);
const window = scoreWindow(T0);

describe("reading live frames", () => {
  it("recognises the server's pong", () => {
    expect(readFrame("pong")).toEqual({ kind: "pong" });
  });

  it("reads a snapshot and an events frame with the contract's schemas", () => {
    const snap = readFrame(text({ type: "snapshot", location: "MTC", head: 2, window, recent: [reading(1), reading(2)] }));
    expect(snap).toMatchObject({ kind: "frame", problems: [], frame: { type: "snapshot", head: 2, lastSeq: 2 } });
    if (snap.kind === "frame") expect(snap.frame.events.map((e) => e.id)).toEqual(["e1", "e2"]);

    const events = readFrame(text({ type: "events", location: "MTC", head: 3, window, events: [reading(3)] }));
    expect(events).toMatchObject({ kind: "frame", frame: { type: "events", head: 3, lastSeq: 3, window } });
  });

  it("reads window and resync frames: no events; a resync has no window", () => {
    expect(readFrame(text({ type: "window", location: "MTC", head: 4, window }))).toEqual({
      kind: "frame",
      problems: [],
      frame: { type: "window", location: "MTC", head: 4, window, events: [], lastSeq: null },
    });
    expect(readFrame(text({ type: "resync", location: "MTC", head: 4000 }))).toEqual({
      kind: "frame",
      problems: [],
      frame: { type: "resync", location: "MTC", head: 4000, window: null, events: [], lastSeq: null },
    });
    expect(readFrame(text({ type: "window", location: "MTC", head: 4 }))).toMatchObject({ kind: "invalid" });
  });

  it("rejects what is not a frame, with a reason and without throwing", () => {
    const cases: unknown[] = [
      "not json {",
      text({ type: "events", location: "MTC", head: 1, events: [] }), // no window
      text({ type: "hello" }),
      text({ type: "snapshot", location: "MTC", head: -1, window, recent: [] }),
      text([1, 2]),
      new ArrayBuffer(4),
    ];
    for (const data of cases) {
      const result = readFrame(data);
      expect(result.kind, String(data)).toBe("invalid");
      if (result.kind === "invalid") expect(result.problems.length).toBeGreaterThan(0);
    }
  });

  it("skips event kinds it does not know, silently, yet counts their seq for resuming", () => {
    const alert = { seq: 4, id: "a4", type: "alert-raised-v9", occurredAt: reading(4).occurredAt, recordedAt: reading(4).recordedAt };
    const result = readFrame(text({ type: "events", location: "MTC", head: 5, window, events: [reading(3), alert, reading(5)] }));
    expect(result).toMatchObject({ kind: "frame", problems: [], frame: { lastSeq: 5 } });
    if (result.kind === "frame") expect(result.frame.events.map((e) => e.seq)).toEqual([3, 5]);

    const onlyUnknown = readFrame(text({ type: "events", location: "MTC", head: 6, window, events: [{ ...alert, seq: 6 }] }));
    expect(onlyUnknown).toMatchObject({ kind: "frame", frame: { events: [], lastSeq: 6, head: 6 } });
  });

  it("drops a malformed event of a known kind with a reason, and keeps the rest of the frame", () => {
    const bad = { ...reading(4), vote: 0.7 };
    const result = readFrame(text({ type: "events", location: "MTC", head: 5, window, events: [reading(3), bad, reading(5)] }));
    expect(result.kind).toBe("frame");
    if (result.kind !== "frame") return;
    expect(result.frame.events.map((e) => e.seq)).toEqual([3, 5]);
    expect(result.frame.window).toEqual(window);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^event 1: vote: vote must be exactly 0, 0.5 or 1/);
  });
});
