import { describe, expect, it } from "vitest";
import type { FleetSummary } from "../../../protocol";
import { applyFleetFrame, byName, emptyFleet, readFleetFrame, type FleetFrameRead, type FleetView } from "../../../dashboard/src/lib/fleet";
import { T0, scoreWindow } from "./fixtures";

const summary = (location: string, head = 1, to = T0): FleetSummary => ({
  location,
  head,
  lastEventAt: new Date(to).toISOString(),
  window: scoreWindow(to, head),
  alerts: 0,
});
const snapshot = (part: number, parts: number, locations: FleetSummary[]): FleetFrameRead => ({ type: "snapshot", part, parts, locations });
const changes = (locations: FleetSummary[]): FleetFrameRead => ({ type: "changes", locations });
const shown = (view: FleetView) => (view.shown ? [...view.shown.values()].sort(byName) : null);

describe("readFleetFrame", () => {
  it("reads snapshot and changes frames, the pong, and refuses what is not a fleet frame", () => {
    expect(readFleetFrame("pong")).toEqual({ kind: "pong" });
    const text = JSON.stringify({ type: "changes", locations: [summary("A")] });
    expect(readFleetFrame(text)).toEqual({ kind: "frame", frame: changes([summary("A")]), problems: [] });
    expect(readFleetFrame("{").kind).toBe("invalid");
    expect(readFleetFrame(JSON.stringify({ type: "snapshot", locations: [] })).kind).toBe("invalid"); // no part/parts
    expect(readFleetFrame(new ArrayBuffer(2))).toEqual({ kind: "invalid", problems: ["frame is not text"] });
  });

  it("skips one broken summary and keeps the rest of the frame", () => {
    const result = readFleetFrame(JSON.stringify({ type: "changes", locations: [summary("A"), { ...summary("B"), head: -1 }, summary("C")] }));
    expect(result.kind).toBe("frame");
    if (result.kind !== "frame") return;
    expect(result.frame.locations.map((s) => s.location)).toEqual(["A", "C"]);
    expect(result.problems).toEqual(["location 1: head: Too small: expected number to be >=0"]);
  });
});

describe("applyFleetFrame", () => {
  it("shows nothing until the snapshot's last part, then exactly the snapshot", () => {
    let view = applyFleetFrame(emptyFleet(), snapshot(1, 2, [summary("A"), summary("B")]));
    expect(shown(view)).toBeNull();
    view = applyFleetFrame(view, snapshot(2, 2, [summary("C")]));
    expect(shown(view)!.map((s) => s.location)).toEqual(["A", "B", "C"]);
  });

  it("a new snapshot (a reconnect) replaces what is shown only once complete; changes meanwhile apply to both", () => {
    let view = applyFleetFrame(emptyFleet(), snapshot(1, 1, [summary("A"), summary("Gone")]));
    view = applyFleetFrame(view, snapshot(1, 2, [summary("A", 2)]));
    expect(shown(view)!.map((s) => [s.location, s.head])).toEqual([["A", 1], ["Gone", 1]]);
    view = applyFleetFrame(view, changes([summary("B", 7)]));
    expect(shown(view)!.map((s) => s.location)).toEqual(["A", "B", "Gone"]);
    view = applyFleetFrame(view, snapshot(2, 2, [summary("C")]));
    expect(shown(view)!.map((s) => [s.location, s.head])).toEqual([["A", 2], ["B", 7], ["C", 1]]);
  });

  it("keeps each location's newest summary: an older or repeated change changes nothing", () => {
    let view = applyFleetFrame(emptyFleet(), snapshot(1, 1, [summary("A", 5, T0)]));
    view = applyFleetFrame(view, changes([summary("A", 4, T0 + 60_000)]));
    expect(shown(view)![0]!.head).toBe(5);
    view = applyFleetFrame(view, changes([summary("A", 5, T0 + 60_000)]));
    expect(shown(view)![0]!.window.to).toBe(new Date(T0 + 60_000).toISOString());
    view = applyFleetFrame(view, changes([summary("A", 6, T0)]));
    expect(shown(view)![0]!.head).toBe(6);
  });
});

describe("byName", () => {
  it("orders by code point, as the server lists (astral letters after U+FFxx)", () => {
    const names = ["𠮷野", "Ａ", "Zürich", "東京", "Main Hall"].map((n) => summary(n));
    expect(names.sort(byName).map((s) => s.location)).toEqual(["Main Hall", "Zürich", "東京", "Ａ", "𠮷野"]);
  });
});
