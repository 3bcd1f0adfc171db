import { describe, expect, it } from "vitest";
import type { LocationSettings } from "../../../protocol/settings";
import { webhookPayload } from "../../../protocol/notifications";
import { emptyCalendar, foldQuarter } from "../../../domain/calendar/quarters";
import { dayNumber } from "../../../domain/calendar/zone";
import { WORST_HOUR_MIN_VOTES, digestInstant, digestNotificationId, digestOf, digestPayload, digestSpan, nextDigest } from "../../../domain/location/digest";

/**
 * The daily digest, given/when/then: when it is due (DST-correct in the
 * location's own zone), and what it says about yesterday, checked against an
 * independent computation (Intl's local date of each vote, counted by hand).
 */
const Z = (iso: string) => Date.parse(iso);
const london = (digestAt: string): LocationSettings => ({ timeZone: "Europe/London", digestAt });

describe("digest timing: the local digestAt, DST-correct", () => {
  it("Europe/London, spring forward 2026-03-29: 08:00 is 07:00Z that day (08:00Z the day before); 01:30 does not exist and goes out at the jump (02:00 BST = 01:00Z)", () => {
    expect(digestInstant(london("08:00"), "08:00", dayNumber("2026-03-28"))).toBe(Z("2026-03-28T08:00:00Z"));
    expect(digestInstant(london("08:00"), "08:00", dayNumber("2026-03-29"))).toBe(Z("2026-03-29T07:00:00Z"));
    expect(digestInstant(london("01:30"), "01:30", dayNumber("2026-03-29"))).toBe(Z("2026-03-29T01:00:00Z"));
  });

  it("Europe/London, fall back 2026-10-25: 01:30 happens twice and goes out once, at the first (00:30Z); 08:00 is 08:00Z", () => {
    expect(digestInstant(london("01:30"), "01:30", dayNumber("2026-10-25"))).toBe(Z("2026-10-25T00:30:00Z"));
    expect(digestInstant(london("08:00"), "08:00", dayNumber("2026-10-25"))).toBe(Z("2026-10-25T08:00:00Z"));
    expect(digestInstant(london("08:00"), "08:00", dayNumber("2026-10-24"))).toBe(Z("2026-10-24T07:00:00Z"));
  });

  it("Asia/Kolkata (+5:30): 07:00 is 01:30Z", () => {
    expect(digestInstant({ timeZone: "Asia/Kolkata", digestAt: "07:00" }, "07:00", dayNumber("2026-06-02"))).toBe(Z("2026-06-02T01:30:00Z"));
  });

  it("no digestAt: no digest and no alarm for one", () => {
    expect(nextDigest({ timeZone: "Europe/London" }, null, Z("2026-03-29T12:00:00Z"))).toBeNull();
    expect(nextDigest({ timeZone: "Europe/London" }, "2026-03-28", Z("2026-03-29T12:00:00Z"))).toBeNull();
  });

  it("the first digest: yesterday's, due at today's digestAt (at once when it has passed)", () => {
    const s = london("08:00");
    expect(nextDigest(s, null, Z("2026-03-29T06:00:00Z"))).toEqual({ date: "2026-03-28", at: Z("2026-03-29T07:00:00Z") });
    expect(nextDigest(s, null, Z("2026-03-29T07:00:00Z"))).toEqual({ date: "2026-03-28", at: Z("2026-03-29T07:00:00Z") });
    expect(nextDigest(s, null, Z("2026-03-29T22:59:59Z"))).toEqual({ date: "2026-03-28", at: Z("2026-03-29T07:00:00Z") });
    // Local midnight (BST) starts the 30th: yesterday is then the 29th, due on the 30th.
    expect(nextDigest(s, null, Z("2026-03-29T23:00:00Z"))).toEqual({ date: "2026-03-29", at: Z("2026-03-30T07:00:00Z") });
  });

  it("after a digest: the day after it, due at the next day's digestAt, so a second alarm the same day finds nothing due", () => {
    const s = london("08:00");
    // Sent the digest of 10-24 on 10-25 at 08:00Z: the next covers 10-25 (25 hours long), due 10-26 08:00Z.
    expect(nextDigest(s, "2026-10-24", Z("2026-10-25T08:00:01Z"))).toEqual({ date: "2026-10-25", at: Z("2026-10-26T08:00:00Z") });
    expect(nextDigest(s, "2026-10-24", Z("2026-10-25T21:00:00Z"))!.at).toBeGreaterThan(Z("2026-10-25T21:00:00Z"));
  });

  it("a location that slept through its digests sends yesterday's at once, not a backlog", () => {
    const s = london("08:00");
    expect(nextDigest(s, "2026-10-01", Z("2026-10-25T12:00:00Z"))).toEqual({ date: "2026-10-24", at: Z("2026-10-25T08:00:00Z") });
  });

  it("the notification id is one per local date and channel", () => {
    expect(digestNotificationId("2026-10-25", "ops")).toBe("digest-2026-10-25.ops");
  });
});

describe("digestOf: yesterday in the location's own calendar", () => {
  const zone = "Europe/London";
  const localDate = (ms: number) => new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);

  // Votes around the 25-hour day 2026-10-25 and the day before.
  const votes: [string, 0 | 0.5 | 1][] = [
    ["2026-10-23T23:30:00Z", 0], // local 00:30 BST on 10-24
    ["2026-10-24T12:00:00Z", 1],
    ["2026-10-24T22:59:00Z", 1], // local 23:59 BST on 10-24
    ["2026-10-24T23:30:00Z", 1], // local 00:30 BST on 10-25
    ["2026-10-25T01:30:00Z", 0.5], // local 01:30 GMT, the repeated hour's second pass
    ["2026-10-25T23:30:00Z", 1], // local 23:30 GMT on 10-25
    ["2026-10-26T00:10:00Z", 0], // local 00:10 on 10-26: not in the digest
    // 14:00–15:00 local: six votes, score 2/6, the worst hour with enough votes
    ...([0, 0, 0, 0, 1, 1] as const).map((v, i): [string, 0 | 0.5 | 1] => [`2026-10-25T14:0${i}:00Z`, v]),
    // 16:00 local: one sad vote, too few to be the worst hour
    ["2026-10-25T16:00:00Z", 0],
  ];
  const settings: LocationSettings = { timeZone: zone, digestAt: "08:00" };
  const calendar = emptyCalendar();
  votes.forEach(([at, vote]) => foldQuarter(calendar, { deviceId: "d1", occurredAt: Z(at), vote }));

  const byHand = (date: string) => {
    const ofDay = votes.filter(([at]) => localDate(Z(at)) === date).map(([, v]) => v);
    const sum = ofDay.reduce<number>((a, v) => a + v, 0);
    return {
      date,
      votes: ofDay.length,
      score: ofDay.length ? sum / ofDay.length : null,
      happy: ofDay.filter((v) => v === 1).length,
      neutral: ofDay.filter((v) => v === 0.5).length,
      sad: ofDay.filter((v) => v === 0).length,
    };
  };

  it("counts exactly the votes of the local day (25 hours at fall-back), the day before apart, and the change", () => {
    const day = dayNumber("2026-10-25");
    const span = digestSpan(settings, day);
    const d = digestOf([...calendar.quarters.values()].filter((q) => q.start >= span.from && q.start < span.to), settings, day);
    const yesterday = byHand("2026-10-25");
    const before = byHand("2026-10-24");
    expect(yesterday.votes).toBe(10);
    expect(d).toMatchObject({ ...yesterday, timeZone: zone, previous: before });
    expect(d.change.votes).toBe(yesterday.votes - before.votes);
    expect(d.change.score).toBeCloseTo(yesterday.score! - before.score!, 12);
    expect(d.worstHour).toEqual({ local: "2026-10-25T14:00:00+00:00", votes: 6, score: 2 / 6 });
    expect(WORST_HOUR_MIN_VOTES).toBeGreaterThan(1);
  });

  it("a day without votes: zero votes, no score, no worst hour, no score change", () => {
    const d = digestOf([], settings, dayNumber("2026-11-01"));
    expect(d).toMatchObject({ date: "2026-11-01", votes: 0, score: null, happy: 0, neutral: 0, sad: 0, worstHour: null, change: { score: null, votes: 0 } });
  });

  it("its webhook body fits the contract, with a chat line and the due instant as its timestamp", () => {
    const day = dayNumber("2026-10-25");
    const d = digestOf(calendar.quarters.values(), settings, day);
    const body = webhookPayload.parse(digestPayload("MTC", "Main <Hall>", d, Z("2026-10-26T08:00:00Z")));
    expect(body).toMatchObject({ type: "digest", timestamp: "2026-10-26T08:00:00.000Z", data: { location: "MTC", date: "2026-10-25", votes: 10 } });
    expect(body.text).toContain("*Main &lt;Hall&gt;* · 2026-10-25: 0.45 over 10 votes (happy 4, neutral 1, sad 5); −0.22 against 2026-10-24 (0.67, 3 votes)");
    expect(body.text).toContain("worst hour 14:00 (0.33, 6 votes)");
  });
});
