import { LOW_COUNT_VOTES, type CalendarPeriods, type PeriodTally, type RankingEntry, type RankingPeriod } from "../../protocol/calendar";
import type { FleetSummary } from "../../protocol/fleet";
import { dateOfDay, dayNumber } from "./zone";
import { localDay } from "./series";

const score = (t: PeriodTally): number | null => (t.votes > 0 ? t.voteSum / t.votes : null);
const EMPTY: PeriodTally = { votes: 0, voteSum: 0 };

/** A period's figures and the previous period's, from a location's published periods. */
function pick(periods: CalendarPeriods, period: RankingPeriod): [PeriodTally, PeriodTally] {
  if (period === "today") return [periods.today, periods.yesterday];
  if (period === "7d") return [periods.d7, periods.prev7];
  return [periods.d30, periods.prev30];
}

/**
 * Periods published on an earlier local date than `now`'s, moved on: a
 * location publishes at its midnight, but one that could not reach the fleet
 * yet would otherwise rank with yesterday's "today". One day late, today is
 * empty and yesterday was the published today; the multi-day periods and
 * anything later cannot be shifted exactly and keep their published `date`.
 */
export function currentPeriods(periods: CalendarPeriods, now: number): CalendarPeriods {
  const today = localDay({ timeZone: periods.timeZone }, now);
  const late = today - dayNumber(periods.date);
  if (late !== 1) return periods;
  return { ...periods, date: dateOfDay(today), today: EMPTY, yesterday: periods.today };
}

/**
 * The ranking: every location by score over `period` in its own calendar
 * (best first; locations without votes last, by name), with votes, the
 * previous period's score and the change, and a low-count flag.
 */
export function rankLocations(summaries: readonly FleetSummary[], period: RankingPeriod, now: number): RankingEntry[] {
  const rows = summaries.map((s) => {
    const periods = s.periods ? currentPeriods(s.periods, now) : null;
    const [current, previous] = periods ? pick(periods, period) : [EMPTY, EMPTY];
    const now_ = score(current);
    const before = score(previous);
    return {
      location: s.location,
      displayName: s.displayName ?? null,
      votes: current.votes,
      score: now_,
      previousVotes: previous.votes,
      previousScore: before,
      change: now_ === null || before === null ? null : now_ - before,
      lowCount: current.votes < LOW_COUNT_VOTES,
      date: periods?.date ?? dateOfDay(localDay({ timeZone: "UTC" }, now)),
      timeZone: periods?.timeZone ?? "UTC",
    };
  });
  rows.sort((a, b) => {
    if (a.score !== b.score) {
      if (a.score === null) return 1;
      if (b.score === null) return -1;
      return b.score - a.score;
    }
    if (a.votes !== b.votes) return b.votes - a.votes;
    return a.location < b.location ? -1 : a.location > b.location ? 1 : 0;
  });
  return rows.map((r, i) => ({ ...r, rank: i + 1 }));
}
