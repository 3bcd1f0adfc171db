import { Hono } from "hono";
import type { RankingResponse } from "../../protocol/ranking";
import { rankingQuery } from "../calendar-params";
import type { AppEnv } from "../env";
import { readAccess } from "../guards";
import { parseOr400 } from "../params";
import { fleetStub } from "../stubs";

/**
 * GET /api/v1/ranking?period=today|7d|30d: locations by score. One call to
 * the fleet object, which holds the per-period figures every location pushes
 * with its summary: no location is called per request. A read over many
 * locations: share keys (made for one) are refused.
 */
export const ranking = new Hono<AppEnv>().get("/", readAccess(), async (c) => {
  const { period } = parseOr400(rankingQuery, c.req.query(), "ranking query");
  return c.json({ period, locations: await fleetStub(c.env).ranking(period) } satisfies RankingResponse);
});
