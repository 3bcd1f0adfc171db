import { Hono } from "hono";
import type { AppEnv } from "../env";
import { requireUpgrade } from "../errors";
import { socketAccess } from "../guards";
import { fleetStub } from "../stubs";

/**
 * The fleet view's live socket, under /api/v1/fleet: one socket for every
 * location's summary. Guarded like a location's socket (a share key, made for
 * one location, is refused here).
 */
export const fleet = new Hono<AppEnv>().get("/live", socketAccess(), (c) => {
  requireUpgrade(c.req.header("upgrade"));
  return fleetStub(c.env).fetch(c.req.raw);
});
