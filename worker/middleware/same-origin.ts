import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";

export interface SameOriginOptions {
  /** Extra origins to accept besides the request's own; default: `ALLOWED_ORIGINS` (comma-separated) from the env. */
  allowed?: (env: Env) => string[];
}

export const allowedOrigins = (env: Env): string[] =>
  (env.ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim().replace(/\/+$/, ""))
    .filter(Boolean);

/**
 * Refuses a WebSocket upgrade whose `Origin` is another site (403), so a page
 * elsewhere cannot open a socket with the viewer's cookie. The worker's own
 * origin is always allowed, `ALLOWED_ORIGINS` widens it, and a request without
 * `Origin` (a non-browser client, which still needs its token) is let through.
 *
 * @example app.get("/api/v1/locations/:location/live", sameOrigin(), handler)
 */
export const sameOrigin = (options: SameOriginOptions = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      const own = new URL(c.req.url).origin;
      const allowed = [own, ...(options.allowed ?? allowedOrigins)(c.env)];
      if (!allowed.includes(origin)) {
        throw new ApiError(403, `origin ${origin} may not open this socket`, [`allowed: ${allowed.join(", ")} (set ALLOWED_ORIGINS to add more)`]);
      }
    }
    await next();
  });
