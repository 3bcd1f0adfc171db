import type { Rule } from "../protocol/actions";
import type { LocationSettings } from "../protocol/settings";
import { isOpen } from "./calendar/series";
import { DAY_MS, QUARTER_MS, offsetAt, weekdayOf } from "./calendar/zone";
import { MINUTE_MS, bucketLeavesAt, windowStart } from "./time-buckets";

/**
 * The location-level rule metric that depends on the calendar: `votes`
 * ("fewer than N votes during opening hours"). It is judged only while the
 * location has been open for the rule's whole window: the quarter holding
 * the window's start through the one holding `now` all open per the
 * location's opening hours (always, without opening hours). Otherwise the
 * rule is not in force: it measures nothing, so it does not hold and a raised
 * alert clears (a closed site is not "too quiet"; and the first hour after
 * opening is not judged on the closed hour before it).
 *
 * Opening hours are on quarter hours and every UTC offset is a multiple of 15
 * minutes (domain/calendar/zone.ts), so openness is a property of UTC quarters.
 */

/** Rules whose verdict also depends on opening hours. */
export const dependsOnOpeningHours = (rule: Pick<Rule, "metric">): boolean => rule.metric === "votes";

const quarterOpen = (settings: LocationSettings, q: number): boolean => {
  const local = q + offsetAt(settings.timeZone, q) * MINUTE_MS;
  const day = Math.floor(local / DAY_MS);
  return isOpen(settings, weekdayOf(day), Math.round((local - day * DAY_MS) / MINUTE_MS));
};

/** Whether the location was open throughout the window of `span` ms at `now` (every quarter it touches). */
export function openThroughout(settings: LocationSettings, now: number, span: number): boolean {
  if (!settings.openingHours) return true;
  for (let q = Math.floor(windowStart(now, span) / QUARTER_MS) * QUARTER_MS; q <= now; q += QUARTER_MS) if (!quarterOpen(settings, q)) return false;
  return true;
}

/** Whether `rule` is judged at `now`: always, but a `votes` rule only while open throughout its window. */
export const inForce = (settings: LocationSettings, rule: Rule, now: number): boolean =>
  !dependsOnOpeningHours(rule) || openThroughout(settings, now, (rule.windowMinutes ?? 60) * MINUTE_MS);

/** How far ahead `nextOpenWindowChange` looks: opening hours repeat weekly, so a week and a day covers every change. */
const HORIZON_MS = 8 * DAY_MS;

/**
 * The first instant after `now` at which `openThroughout` for a window of
 * `span` ms changes, or null when it does not within the next 8 days (no
 * opening hours, or a schedule that never holds a whole window open).
 *
 * It can change only when `now` enters a new quarter, or when the window's
 * start leaves one (the minute before quarter boundary `b` leaves the window
 * at `bucketLeavesAt(b − 1 min, span)`). Openness per quarter is computed once
 * and the closed quarters of each candidate window counted by prefix sums.
 */
export function nextOpenWindowChange(settings: LocationSettings, now: number, span: number): number | null {
  if (!settings.openingHours) return null;
  const first = Math.floor(windowStart(now, span) / QUARTER_MS) * QUARTER_MS;
  const last = now + HORIZON_MS;
  const count = Math.floor((last - first) / QUARTER_MS) + 1;
  // closedBefore[i]: closed quarters among the first i from `first`.
  const closedBefore = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) closedBefore[i + 1] = closedBefore[i]! + (quarterOpen(settings, first + i * QUARTER_MS) ? 0 : 1);
  const status = (t: number): boolean => {
    const a = Math.floor((Math.floor(windowStart(t, span) / QUARTER_MS) * QUARTER_MS - first) / QUARTER_MS);
    const b = Math.floor((t - first) / QUARTER_MS);
    return closedBefore[b + 1]! - closedBefore[a]! === 0;
  };
  const current = status(now);
  const candidates: number[] = [];
  for (let b = first + QUARTER_MS; b <= last; b += QUARTER_MS) {
    if (b > now) candidates.push(b);
    const leaves = bucketLeavesAt(b - MINUTE_MS, span);
    if (leaves > now && leaves <= last) candidates.push(leaves);
  }
  candidates.sort((x, y) => x - y);
  for (const t of candidates) if (status(t) !== current) return t;
  return null;
}
