import { z } from "zod";

/**
 * Apart from protocol/calendar.ts because the fleet summary (in the
 * dashboard's first bundle) carries it, and the calendar's other schemas
 * belong to lazy views.
 */

/** Local days a location reports to the fleet for the ranking: 30 and the 30 before them. */
export const RANKING_DAYS = 60;

/**
 * A location's votes per local day in its own calendar, newest first:
 * `days[0]` is local date `date` (its today when it published), `days[i]` the
 * i-th day before, each `[votes, voteSum]`. Pushed to the fleet object with
 * the summary. The fleet ranks from it at any later time: a location
 * publishes within a second of every new event, so the days since `date`
 * held no votes, and shifting by the days elapsed is exact.
 */
export const calendarDays = z.object({
  date: z.iso.date(),
  timeZone: z.string(),
  days: z.array(z.tuple([z.number().int().nonnegative(), z.number().nonnegative()])).max(RANKING_DAYS),
});
export type CalendarDays = z.infer<typeof calendarDays>;

