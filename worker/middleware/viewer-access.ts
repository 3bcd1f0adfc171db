import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { SHARE_KEY_PREFIX } from "../../protocol";
import { checkSession, checkShareKey, SESSION_COOKIE } from "../credentials";
import { tokenMatches } from "../crypto";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";
import { parseLocation } from "../params";
import { isSet, requireSecret } from "../secrets";
import { bearerToken, unauthorized } from "./bearer-secret";

export interface ViewerAccessOptions {
  /**
   * The one location the request reads, which a share key must name; default:
   * the `:location` route parameter. Routes over many locations (the list,
   * the fleet) have none, and share keys are refused there with 403.
   */
  location?: (c: Context<AppEnv>) => string | undefined;
}

const HOW = ["send Authorization: Bearer <VIEWER_TOKEN>, sign in with POST /api/v1/session, or open a share link (?key=)"];

/**
 * Guards reads and live sockets. With `VIEWER_TOKEN` unset, reads are public
 * and this lets everything through. With it set, the request needs one of:
 * - `Authorization: Bearer <VIEWER_TOKEN>` (the admin and ingest tokens are not viewer tokens);
 * - the session cookie from `POST /api/v1/session` (how browsers' WebSockets authenticate);
 * - a share key for this route's location, as `?key=` or a bearer token
 *   (another location, or a route over many, is 403; an expired key 401).
 *
 * Apply it to a route or a whole group by path:
 * @example
 * app.get("/api/v1/locations/:location/hourly", viewerAccess(), handler)
 * app.use("/api/v1/fleet/*", viewerAccess()) // no :location: share keys get 403
 */
export const viewerAccess = (options: ViewerAccessOptions = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!isSet(c.env, "VIEWER_TOKEN")) return next();
    const viewerToken = requireSecret(c.env, "VIEWER_TOKEN");
    const now = Date.now();
    const bearer = bearerToken(c.req.header("authorization"));
    const key = bearer?.startsWith(SHARE_KEY_PREFIX) ? bearer : c.req.query("key");

    if (bearer !== null && !bearer.startsWith(SHARE_KEY_PREFIX)) {
      if (!(await tokenMatches(bearer, viewerToken))) throw unauthorized("invalid viewer token", HOW, true);
    } else if (key !== undefined) {
      const check = await checkShareKey(requireSecret(c.env, "SHARE_SECRET"), key, now);
      if (!check.ok) {
        throw unauthorized(check.reason === "expired" ? "share key expired" : "invalid share key", ["ask for a new share link"], true);
      }
      const raw = options.location ? options.location(c) : c.req.param("location");
      const location = raw === undefined ? undefined : parseLocation(raw);
      if (location !== check.location) {
        throw new ApiError(403, `this share key is for location "${check.location}" only`, [
          location === undefined ? "it does not open routes over several locations" : `it does not open "${location}"`,
        ]);
      }
    } else {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie === undefined) throw unauthorized("viewer token required", HOW, false);
      const session = await checkSession(viewerToken, cookie, now);
      if (session !== "ok") throw unauthorized(session === "expired" ? "session expired" : "invalid session", ["sign in again"], true);
    }
    await next();
  });
