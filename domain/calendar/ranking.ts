import type { PeriodTally } from "../../protocol/calendar";
import type { CalendarDays } from "../../protocol/calendar-days";
import { LOW_COUNT_VOTES, type RankingEntry, type RankingPeriod } from "../../protocol/ranking";
import type { FleetSummary } from "../../protocol/fleet";
import { dateOfDay, dayNumber } from "./zone";
import { localDay } from "./series";

/** Days each period spans; the previous period is the same number of days before it. */
const PERIOD_LENGTH: Record<RankingPeriod, number> = { today: 1, "7d": 7, "30d": 30 };

const scoreOf = (t: PeriodTally): number | null => (t.votes > 0 ? t.voteSum / t.votes : null);

/**
 * A period and the one before it from a location's days, as of its local
 * today at `now`. Days after the published `date` held no votes (a location
 * publishes within a second of each event), so they count as empty.
 */
export function periodTallies(calendar: CalendarDays, period: RankingPeriod, now: number): { today: string; current: PeriodTally; previous: PeriodTally } {
  const today = localDay({ timeZone: calendar.timeZone }, now);
  const elapsed = Math.max(0, today - dayNumber(calendar.date));
  const length = PERIOD_LENGTH[period];
  const sum = (fromBack: number, toBack: number): PeriodTally => {
    const t = { votes: 0, voteSum: 0 };
    for (let back = fromBack; back <= toBack; back++) {
      const day = calendar.days[back - elapsed];
      if (day) {
        t.votes += day[0];
        t.voteSum += day[1];
      }
    }
    return t;
  };
  return { today: dateOfDay(today), current: sum(0, length - 1), previous: sum(length, 2 * length - 1) };
}

/**
 * The ranking: every location by score over `period` in its own calendar
 * (best first, then by votes; locations without votes last, by name), with
 * votes, the previous period's score and the change, and a low-count flag.
 * A location that published no days (never voted) ranks empty in UTC.
 */
export function rankLocations(held: readonly { summary: FleetSummary; calendar: CalendarDays | null }[], period: RankingPeriod, now: number): RankingEntry[] {
  const rows = held.map(({ summary, calendar }) => {
    const cal = calendar ?? { date: dateOfDay(localDay({ timeZone: "UTC" }, now)), timeZone: "UTC", days: [] };
    const { today, current, previous } = periodTallies(cal, period, now);
    const score = scoreOf(current);
    const previousScore = scoreOf(previous);
    return {
      location: summary.location,
      displayName: summary.displayName ?? null,
      votes: current.votes,
      score,
      previousVotes: previous.votes,
      previousScore,
      change: score === null || previousScore === null ? null : score - previousScore,
      lowCount: current.votes < LOW_COUNT_VOTES,
      date: today,
      timeZone: cal.timeZone,
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
