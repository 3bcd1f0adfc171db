import { describe, expect, it } from "vitest";
import { webhookPayload } from "../../../protocol/notifications";
import type { LocationSettings } from "../../../protocol/settings";
import { decide, type LocationInput } from "../../../domain/location/decide";
import { nextDigestDue } from "../../../domain/location/digest-due";
import { allocate, type DigestDueEntry, type Entry } from "../../../domain/location/entries";
import { evolve, initialState, type LocationState } from "../../../domain/location/state";
import type { ChannelRoute } from "../../../domain/location/notifications";
import { noticeEvent, noticePayload } from "../../../domain/notifications/notice";
import { logEvent } from "../../../protocol/events";
import { isoString } from "../../../protocol/time";

/**
 * The daily digest in the location's decider, given/when/then: given a log
 * (settings, votes, earlier digests), when the alarm's `digest-tick` comes at
 * some instant, then which entries are committed. The figures are checked
 * against votes counted here by hand.
 */
const Z = (iso: string) => Date.parse(iso);
const UTC_8: LocationSettings = { timeZone: "UTC", digestAt: "08:00" };

const ops: ChannelRoute = { id: "ops", events: ["digest", "alert-raised"] };
const chat: ChannelRoute = { id: "chat", events: ["digest"] };
const alertsOnly: ChannelRoute = { id: "pager", events: ["alert-raised", "alert-cleared"] };

/** Commits decisions the way the object does: allocate after the head, then evolve. */
function given(settings: LocationSettings | null, votes: [string, 0 | 0.5 | 1][] = []): { state: LocationState; log: Entry[] } {
  const state = initialState();
  const log: Entry[] = [];
  const commit = (input: LocationInput, now: number) => {
    const entries = allocate(state.head, decide(state, input, now), now);
    for (const e of entries) evolve(state, e);
    log.push(...entries);
    return entries;
  };
  if (settings) commit({ type: "set-settings", settings }, Z("2026-12-01T00:00:00Z"));
  votes.forEach(([at, vote], i) => commit({ type: "ingest", events: [{ id: `v${i}`, deviceId: "door-1", location: "mtc", occurredAt: Z(at), vote }] }, Z(at)));
  return { state, log };
}

/** The alarm's digest tick at `now`, with quarters read from the state's calendar (as the object overlays storage). */
function tick(state: LocationState, channels: readonly ChannelRoute[], now: number): Entry[] {
  const input: LocationInput = {
    type: "digest-tick",
    channels,
    quarters: (from, to) => [...state.calendar.quarters.values()].filter((q) => q.start >= from && q.start < to),
  };
  const entries = allocate(state.head, decide(state, input, now), now);
  for (const e of entries) evolve(state, e);
  return entries;
}

// Two days of votes; 2026-12-03 is "yesterday" on the 4th.
const VOTES: [string, 0 | 0.5 | 1][] = [
  ["2026-12-02T09:00:00Z", 1],
  ["2026-12-02T10:00:00Z", 1],
  ["2026-12-03T00:00:00Z", 0], // first instant of the 3rd
  ...([0, 0, 0, 0, 0.5, 1] as const).map((v, i): [string, 0 | 0.5 | 1] => [`2026-12-03T14:1${i}:00Z`, v]),
  ["2026-12-03T18:00:00Z", 1],
  ["2026-12-03T23:59:59Z", 1], // last second of the 3rd
  ["2026-12-04T00:00:00Z", 0], // the 4th: in no digest of the 3rd
];

const byHand = (date: string) => {
  const ofDay = VOTES.filter(([at]) => at.startsWith(date)).map(([, v]) => v);
  return {
    date,
    votes: ofDay.length,
    score: ofDay.length ? ofDay.reduce<number>((a, v) => a + v, 0) / ofDay.length : null,
    happy: ofDay.filter((v) => v === 1).length,
    neutral: ofDay.filter((v) => v === 0.5).length,
    sad: ofDay.filter((v) => v === 0).length,
  };
};

describe("digest-tick: the daily digest committed by the alarm", () => {
  it("due: one digest-due with yesterday's figures, dated at its due instant, and one notification-queued per channel taking digest (naming it)", () => {
    const { state } = given({ ...UTC_8, displayName: "Main hall" }, VOTES);
    const now = Z("2026-12-04T08:00:05Z");
    const entries = tick(state, [ops, alertsOnly, chat], now);

    expect(entries.map((e) => e.type)).toEqual(["digest-due", "notification-queued", "notification-queued"]);
    const due = entries[0] as DigestDueEntry;
    expect(due.id).toBe(`~digest-${due.seq}`);
    expect(due.occurredAt).toBe(Z("2026-12-04T08:00:00Z"));
    expect(due.displayName).toBe("Main hall");
    const yesterday = byHand("2026-12-03");
    const before = byHand("2026-12-02");
    expect(yesterday.votes).toBe(9);
    expect(due.digest).toMatchObject({ ...yesterday, timeZone: "UTC", previous: before, change: { votes: yesterday.votes - before.votes } });
    expect(due.digest.change.score).toBeCloseTo(yesterday.score! - before.score!, 12);
    expect(due.digest.worstHour).toEqual({ local: "2026-12-03T14:00:00+00:00", votes: 6, score: 1.5 / 6 });

    expect(entries.slice(1)).toEqual([
      expect.objectContaining({ notificationId: "digest-2026-12-03.ops", channelId: "ops", alertId: due.id, event: "digest", occurredAt: now }),
      expect.objectContaining({ notificationId: "digest-2026-12-03.chat", channelId: "chat", alertId: due.id, event: "digest", occurredAt: now }),
    ]);
    // Every entry is what the read API may carry.
    for (const e of entries) logEvent.parse({ ...e, occurredAt: isoString(e.occurredAt), recordedAt: isoString(e.recordedAt) });
  });

  it("not due yet (before today's digestAt, the first digest waiting for it): nothing", () => {
    const { state } = given(UTC_8, VOTES);
    expect(tick(state, [ops], Z("2026-12-04T07:59:59Z"))).toEqual([]);
    expect(nextDigestDue(state, Z("2026-12-04T07:59:59Z"))).toBe(Z("2026-12-04T08:00:00Z"));
  });

  it("a second tick the same local day: nothing; the next is due at tomorrow's digestAt and covers today", () => {
    const { state } = given(UTC_8, VOTES);
    expect(tick(state, [ops], Z("2026-12-04T08:00:00Z"))).toHaveLength(2);
    expect(state.lastDigestDate).toBe("2026-12-03");
    expect(tick(state, [ops], Z("2026-12-04T08:00:01Z"))).toEqual([]);
    expect(tick(state, [ops, chat], Z("2026-12-04T23:59:59Z"))).toEqual([]);
    expect(nextDigestDue(state, Z("2026-12-04T09:00:00Z"))).toBe(Z("2026-12-05T08:00:00Z"));
    const next = tick(state, [ops], Z("2026-12-05T08:00:00Z"));
    expect(next.map((e) => e.type)).toEqual(["digest-due", "notification-queued"]);
    expect((next[0] as DigestDueEntry).digest).toMatchObject({ date: "2026-12-04", votes: 1, sad: 1, previous: { date: "2026-12-03", votes: 9 } });
  });

  it("without digestAt: nothing, and no due time (no alarm for digests)", () => {
    for (const settings of [null, { timeZone: "Europe/London" }]) {
      const { state } = given(settings, VOTES);
      expect(tick(state, [ops, chat], Z("2026-12-04T12:00:00Z"))).toEqual([]);
      expect(nextDigestDue(state, Z("2026-12-04T12:00:00Z"))).toBeNull();
    }
  });

  it("no channel takes digests: the digest-due alone, recording that the day was handled", () => {
    const { state } = given(UTC_8, VOTES);
    const entries = tick(state, [alertsOnly], Z("2026-12-04T10:00:00Z"));
    expect(entries.map((e) => e.type)).toEqual(["digest-due"]);
    expect(tick(state, [ops], Z("2026-12-04T11:00:00Z"))).toEqual([]);
  });

  it("a location that slept through digests sends yesterday's once, not a backlog", () => {
    const { state } = given(UTC_8, VOTES);
    tick(state, [], Z("2026-12-01T09:00:00Z"));
    expect(state.lastDigestDate).toBe("2026-11-30");
    const entries = tick(state, [chat], Z("2026-12-04T20:00:00Z"));
    expect(entries.filter((e) => e.type === "digest-due")).toEqual([expect.objectContaining({ digest: expect.objectContaining({ date: "2026-12-03" }) })]);
    expect(tick(state, [chat], Z("2026-12-04T20:00:01Z"))).toEqual([]);
  });

  it("a new digestAt moves the next due time (the object recomputes it after every commit)", () => {
    const { state } = given(UTC_8, VOTES);
    tick(state, [], Z("2026-12-04T08:00:00Z"));
    const settings = decide(state, { type: "set-settings", settings: { timeZone: "UTC", digestAt: "06:30" } }, Z("2026-12-04T09:00:00Z"));
    for (const e of allocate(state.head, settings, Z("2026-12-04T09:00:00Z"))) evolve(state, e);
    expect(nextDigestDue(state, Z("2026-12-04T09:00:00Z"))).toBe(Z("2026-12-05T06:30:00Z"));
  });

  it("its notifications' body comes from the digest-due entry alone: the same bytes every time, the due instant as timestamp", () => {
    const { state } = given({ ...UTC_8, displayName: "Main hall" }, VOTES);
    const due = tick(state, [ops], Z("2026-12-04T09:30:00Z"))[0] as DigestDueEntry;
    expect(noticeEvent(due)).toBe("digest");
    const body = JSON.stringify(noticePayload("mtc", due));
    // The settings change afterwards; the body does not.
    for (const e of allocate(state.head, decide(state, { type: "set-settings", settings: { timeZone: "UTC", digestAt: "08:00", displayName: "Renamed" } }, Z("2026-12-04T10:00:00Z")), Z("2026-12-04T10:00:00Z"))) evolve(state, e);
    expect(JSON.stringify(noticePayload("mtc", due))).toBe(body);
    const parsed = webhookPayload.parse(JSON.parse(body));
    expect(parsed).toMatchObject({ type: "digest", timestamp: "2026-12-04T08:00:00.000Z", data: { location: "mtc", date: "2026-12-03", votes: 9, sad: 5 } });
    expect(parsed.text).toMatch(/^:bar_chart: \*Main hall\* · 2026-12-03: 0\.39 over 9 votes \(happy 3, neutral 1, sad 5\)/);
  });
});
