import { every } from "hono/combine";
import { sha256Hex } from "./crypto";
import { bearerToken } from "./middleware/bearer-secret";
import { clientIp, rateLimit } from "./middleware/rate-limit";
import { sameOrigin } from "./middleware/same-origin";
import { viewerAccess, type ViewerAccessOptions } from "./middleware/viewer-access";

/**
 * The guards of each kind of route, composed once so every route of a kind is
 * guarded alike. Defaults (wrangler.toml): 3,000 reads per IP per minute,
 * 10,000 ingest requests per token per 10 s.
 */

/** Reads, sign-ins and upgrades count per client IP against READ_RATE_LIMIT. */
export const perIp = rateLimit({ binding: "READ_RATE_LIMIT", key: clientIp, retryAfterSeconds: 60, what: "requests from this address" });

/** Ingest counts per token (its digest: the key never holds the secret itself) against INGEST_RATE_LIMIT. */
export const perIngestToken = rateLimit({
  binding: "INGEST_RATE_LIMIT",
  key: async (c) => `ingest:${(await sha256Hex(bearerToken(c.req.header("authorization")) ?? "")).slice(0, 16)}`,
  retryAfterSeconds: 10,
  what: "ingest requests for this token",
});

/** A read route: rate limit, then viewer access. */
export const readAccess = (options?: ViewerAccessOptions) => every(perIp, viewerAccess(options));

/** A live socket: rate limit per IP, the page's origin, then viewer access (the cookie, for browsers). */
export const socketAccess = (options?: ViewerAccessOptions) => every(perIp, sameOrigin(), viewerAccess(options));
