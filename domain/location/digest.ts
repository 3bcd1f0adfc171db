import type { DailyRow } from "../../protocol/calendar";
import { clockMinutes, type LocationSettings } from "../../protocol/settings";
import type { WebhookPayload } from "../../protocol/notifications";
import { isoString } from "../../protocol/time";
// The digest's shape is its log entry's (protocol/events.ts: dailyDigest), one definition for both.
import type { Digest, DigestFigures } from "../../protocol/events";
import { dailyRows, dailySpan, localDay, localHours } from "../calendar/series";
import type { QuarterBucket } from "../calendar/quarters";
import { DAY_MS, QUARTER_MS, dateOfDay, dayNumber, dayStartUtc, toLocal } from "../calendar/zone";

/**
 * The daily digest of a location, pure: what it says about one local
 * calendar day (`digestOf`), when it is due (`nextDigest`), its notification
 * id and its webhook body.
 *
 * - The digest sent on local day D at the settings' `digestAt` covers D − 1
 *   (yesterday in the location's own zone), compared with D − 2.
 * - A day without votes still gets its digest (votes 0, score null): a quiet
 *   day is news to whoever runs the site, and "one digest per local date"
 *   stays true without exceptions.
 * - The worst hour is the local hour of that day with the lowest score among
 *   those with at least WORST_HOUR_MIN_VOTES votes (the earliest on a tie);
 *   none when no hour has that many. Fewer votes say too little: one sad
 *   vote in an empty hour is not the day's worst hour.
 */

/** Votes an hour needs to be named the worst. */
export const WORST_HOUR_MIN_VOTES = 5;


const figures = (row: DigestFigures): DigestFigures => ({ date: row.date, votes: row.votes, score: row.score, happy: row.happy, neutral: row.neutral, sad: row.sad });

/** The quarters `digestOf(…, day)` reads: local days `day − 1` and `day`. */
export const digestSpan = (settings: LocationSettings, day: number) => dailySpan(settings, day - 1, day);

/** The digest of local day `day` (a day number) from the quarter buckets of `digestSpan`. */
export function digestOf(quarters: Iterable<QuarterBucket>, settings: LocationSettings, day: number): Digest {
  const buckets = [...quarters];
  // Two days asked, two rows back.
  const [before, of] = dailyRows(buckets, settings, day - 1, day) as [DailyRow, DailyRow];
  const { from, to } = dailySpan(settings, day, day);
  let worstHour: Digest["worstHour"] = null;
  for (const h of localHours(buckets, settings, from, to)) {
    if (h.votes < WORST_HOUR_MIN_VOTES || h.score === null) continue;
    if (worstHour === null || h.score < worstHour.score) worstHour = { local: h.local, votes: h.votes, score: h.score };
  }
  return {
    ...figures(of),
    timeZone: settings.timeZone,
    worstHour,
    previous: figures(before),
    change: { score: of.score !== null && before.score !== null ? of.score - before.score : null, votes: of.votes - before.votes },
  };
}

/**
 * The instant local day `day` reaches the settings' `digestAt` on the wall
 * clock: the first quarter of the day whose local time is at or after it.
 * On a spring-forward day a time in the gap (01:30 in Europe/London on
 * 2026-03-29) goes out when the clock jumps (02:00 BST); on a fall-back
 * day a repeated time goes out at its first occurrence.
 */
export function digestInstant(settings: LocationSettings, digestAt: string, day: number): number {
  const zone = settings.timeZone;
  const target = day * DAY_MS + clockMinutes(digestAt) * 60_000;
  const end = dayStartUtc(zone, day + 1);
  for (let q = dayStartUtc(zone, day); q < end; q += QUARTER_MS) if (toLocal(zone, q) >= target) return q;
  // Only a gap at the very end of the day gets here: the next day's first instant.
  return end;
}

/**
 * The next digest of a location: which local date it covers and when it is
 * due. null without `digestAt` (no digest, no alarm). `lastDate` is the date
 * the last digest covered (from the log): the next covers the day after it, or
 * yesterday when that is later (a location that slept through digests sends
 * one, for yesterday, not a backlog). Due may be in the past: due at once.
 * Without a digest yet, yesterday's, due at today's `digestAt`: at once when
 * that has passed, so whoever just set `digestAt` sees a digest the same day
 * (like a location that slept through its digests).
 */
export function nextDigest(settings: LocationSettings, lastDate: string | null, now: number): { date: string; at: number } | null {
  const digestAt = settings.digestAt;
  if (!digestAt) return null;
  const yesterday = localDay(settings, now) - 1;
  const day = lastDate === null ? yesterday : Math.max(dayNumber(lastDate) + 1, yesterday);
  return { date: dateOfDay(day), at: digestInstant(settings, digestAt, day + 1) };
}

/** `digest-{date}.{channel id}`: one per local date and channel, the same on every attempt (alert ids start with `~`, so none collides). */
export const digestNotificationId = (date: string, channelId: string): string => `digest-${date}.${channelId}`;

const score = (s: number | null): string => (s === null ? "no score" : s.toFixed(2));
const votes = (n: number): string => `${n} vote${n === 1 ? "" : "s"}`;

/** The one human line of a digest, for chat (names are ids or a trimmed display name; `<>&` escaped for Slack mrkdwn). */
export function digestText(name: string, d: Digest): string {
  const change =
    d.change.score === null
      ? `${d.previous.date}: ${score(d.previous.score)}, ${votes(d.previous.votes)}`
      : `${d.change.score >= 0 ? "+" : "−"}${Math.abs(d.change.score).toFixed(2)} against ${d.previous.date} (${score(d.previous.score)}, ${votes(d.previous.votes)})`;
  const worst = d.worstHour ? `; worst hour ${d.worstHour.local.slice(11, 16)} (${score(d.worstHour.score)}, ${votes(d.worstHour.votes)})` : "";
  const text = `:bar_chart: *${name}* · ${d.date}: ${score(d.score)} over ${votes(d.votes)} (happy ${d.happy}, neutral ${d.neutral}, sad ${d.sad}); ${change}${worst}`;
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The JSON body of a digest's notification; `due` (its timestamp) is the digest's due instant, so every attempt sends the same bytes. */
export function digestPayload(location: string, displayName: string | undefined, d: Digest, due: number): WebhookPayload {
  return {
    type: "digest",
    timestamp: isoString(due),
    data: { location, ...d },
    text: digestText(displayName ?? location, d),
  };
}
