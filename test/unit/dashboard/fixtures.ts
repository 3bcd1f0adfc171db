import type { ReadingEvent, ScoreWindow } from "../../../protocol";
import type { VoteEvent } from "../../../dashboard/src/lib/feed";
import type { Frame } from "../../../dashboard/src/lib/frames";

/** Readings and windows as the server sends them, for the dashboard's pure logic. */
export const T0 = Date.parse("2026-03-02T12:00:00.000Z");

/** A reading with a vote (and the climate the device sent along). */
export function reading(seq: number, overrides: Partial<VoteEvent> = {}): VoteEvent {
  const at = new Date(T0 + seq * 1000).toISOString();
  return {
    seq,
    id: `e${seq}`,
    type: "reading",
    deviceId: `d${seq % 3}`,
    occurredAt: at,
    recordedAt: at,
    temperature: 20 + (seq % 5),
    humidity: 40,
    ...overrides,
    vote: overrides.vote ?? ([0, 0.5, 1] as const)[seq % 3]!,
  };
}

/** A reading without a vote: a climate report. */
export function climateReport(seq: number): ReadingEvent {
  const { vote: _vote, ...climate } = reading(seq);
  return climate;
}

export function scoreWindow(to: number, votes = 1): ScoreWindow {
  return {
    from: new Date(to - 3_600_000).toISOString(),
    to: new Date(to).toISOString(),
    votes,
    score: votes === 0 ? null : 0.5,
    devices: votes === 0 ? 0 : 1,
    temperature: null,
    humidity: null,
  };
}

export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

export function snapshot(head: number, recent: ReadingEvent[], windowTo = T0): Frame {
  return { type: "snapshot", location: "MTC", head, window: scoreWindow(windowTo), events: recent, lastSeq: recent.at(-1)?.seq ?? null };
}

export function eventsFrame(head: number, events: ReadingEvent[], windowTo = T0): Frame {
  return { type: "events", location: "MTC", head, window: scoreWindow(windowTo), events, lastSeq: events.at(-1)?.seq ?? null };
}
