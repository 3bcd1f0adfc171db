import { z } from "zod";

/** GET /api/v1/ranking: locations by score over a period of their own calendar (its own module: the overview loads it alone). */

export const RANKING_PERIODS = ["today", "7d", "30d"] as const;
export type RankingPeriod = (typeof RANKING_PERIODS)[number];
/** Fewer votes than this in the period: the score says little (`lowCount`). */
export const LOW_COUNT_VOTES = 20;

export const rankingEntry = z.object({
  location: z.string(),
  displayName: z.string().nullable(),
  rank: z.number().int().positive(),
  votes: z.number().int().nonnegative(),
  score: z.number().min(0).max(1).nullable(),
  previousVotes: z.number().int().nonnegative(),
  previousScore: z.number().min(0).max(1).nullable(),
  /** score − previousScore; null when either is. */
  change: z.number().nullable(),
  lowCount: z.boolean(),
  /** The location's local date the figures are for. */
  date: z.iso.date(),
  timeZone: z.string(),
});
export type RankingEntry = z.infer<typeof rankingEntry>;

export const rankingResponse = z.object({ period: z.enum(RANKING_PERIODS), locations: z.array(rankingEntry) });
export type RankingResponse = z.infer<typeof rankingResponse>;
