import { Hono } from "hono";
import type { AppEnv } from "../env";
import { requireUpgrade } from "../errors";
import { fleetStub } from "../stubs";

/** The fleet view's live socket, under /api/v1/fleet: one socket for every location's summary. */
export const fleet = new Hono<AppEnv>().get("/live", (c) => {
  requireUpgrade(c.req.header("upgrade"));
  return fleetStub(c.env).fetch(c.req.raw);
});
