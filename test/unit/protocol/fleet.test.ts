import { describe, expect, it } from "vitest";
import { MAX_FLEET_FRAME_BYTES, fleetFrame, fleetFrameTexts, supersedes, type FleetSummary } from "../../../protocol";

const T = Date.parse("2026-03-02T12:00:00.000Z");
const summary = (location: string, head = 1, to = T): FleetSummary => ({
  location,
  head,
  lastEventAt: new Date(to).toISOString(),
  window: { from: new Date(to - 3_600_000).toISOString(), to: new Date(to).toISOString(), votes: 1, score: 1, devices: 1, temperature: 21.5, humidity: 40 },
  alerts: 0,
});
const bytes = (text: string) => new TextEncoder().encode(text).byteLength;

describe("supersedes", () => {
  it("a later head wins; the same head wins only with a later window; nothing replaces itself", () => {
    const held = summary("a", 5, T);
    expect(supersedes(undefined, held)).toBe(true);
    expect(supersedes(held, summary("a", 6, T - 60_000))).toBe(true);
    expect(supersedes(held, summary("a", 5, T + 60_000))).toBe(true);
    expect(supersedes(held, summary("a", 5, T))).toBe(false);
    expect(supersedes(held, summary("a", 4, T + 60_000))).toBe(false);
    expect(supersedes(held, summary("a", 5, T - 1))).toBe(false);
  });
});

describe("fleetFrameTexts", () => {
  it("an empty fleet is one snapshot frame of no locations; no changes are no frame", () => {
    expect(fleetFrameTexts("snapshot", []).map((t) => JSON.parse(t))).toEqual([{ type: "snapshot", part: 1, parts: 1, locations: [] }]);
    expect(fleetFrameTexts("changes", [])).toEqual([]);
  });

  it("splits into frames of at most maxBytes (UTF-8, not UTF-16), in order, numbered part/parts", () => {
    const names = Array.from({ length: 40 }, (_, i) => `東京-${String(i).padStart(2, "0")}`); // 3 bytes per kanji
    const all = names.map((n) => summary(n));
    const one = bytes(JSON.stringify(all[0]));
    const max = 128 + 5 * (one + 1); // five summaries per frame
    const texts = fleetFrameTexts("snapshot", all, max);
    expect(texts).toHaveLength(8);
    const frames = texts.map((t) => fleetFrame.parse(JSON.parse(t)));
    expect(frames.map((f) => (f.type === "snapshot" ? [f.part, f.parts] : null))).toEqual(Array.from({ length: 8 }, (_, i) => [i + 1, 8]));
    expect(frames.flatMap((f) => f.locations)).toEqual(all);
    for (const t of texts) expect(bytes(t)).toBeLessThanOrEqual(max);
    // Counting UTF-16 units instead would fit more per frame and overflow the byte cap.
    expect(JSON.stringify(all[0]).length).toBeLessThan(one);
  });

  it("changes split the same way; a real-size fleet's frames stay under the 1 MB cap", () => {
    const all = Array.from({ length: 8_000 }, (_, i) => summary(`location-${"x".repeat(40)}-${i}`));
    const texts = fleetFrameTexts("changes", all);
    expect(texts.length).toBeGreaterThan(1);
    for (const t of texts) expect(bytes(t)).toBeLessThanOrEqual(MAX_FLEET_FRAME_BYTES);
    expect(texts.flatMap((t) => fleetFrame.parse(JSON.parse(t)).locations)).toEqual(all);
  });
});
