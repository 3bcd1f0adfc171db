import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";

/** The Rate Limiting bindings of wrangler.toml (`[[ratelimits]]`). */
export type RateLimitBinding = "READ_RATE_LIMIT" | "INGEST_RATE_LIMIT";

export interface RateLimitOptions {
  /** The binding that counts (its limit and period are in wrangler.toml). */
  binding: RateLimitBinding;
  /** Who is counted: a client IP, a token's digest… */
  key: (c: Context<AppEnv>) => string | Promise<string>;
  /** The binding's period (10 or 60 s): how long a refused client should wait at most. */
  retryAfterSeconds: number;
  /** What is limited, for the error message. */
  what: string;
}

/** The client's IP as Cloudflare's edge reports it; "unknown" when absent (only local runs lack it). */
export const clientIp = (c: Context<AppEnv>): string => c.req.header("cf-connecting-ip") ?? "unknown";

/**
 * Counts each request against a Workers Rate Limiting binding and answers
 * 429 with `Retry-After` beyond its limit. The counters are per Cloudflare
 * location and eventually consistent: a guard against floods, not an exact
 * quota.
 *
 * @example app.get("/api/v1/locations", rateLimit({ binding: "READ_RATE_LIMIT", key: clientIp, retryAfterSeconds: 60, what: "reads" }), handler)
 */
export const rateLimit = (options: RateLimitOptions) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { success } = await c.env[options.binding].limit({ key: await options.key(c) });
    if (!success) {
      throw new ApiError(
        429,
        `too many ${options.what}`,
        [`retry after ${options.retryAfterSeconds} s; the limits are the [[ratelimits]] bindings in wrangler.toml`],
        { "Retry-After": String(options.retryAfterSeconds) },
      );
    }
    await next();
  });
