import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";

type SecretName = "INGEST_TOKEN" | "ADMIN_TOKEN";

const encoder = new TextEncoder();

/**
 * Compares two strings in time independent of where they differ. Both sides
 * are hashed first so their lengths match, which `timingSafeEqual` requires,
 * and the token's length does not leak either.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/**
 * Requires `Authorization: Bearer <secret>` where the secret is the Worker
 * secret `name`. Never open by default: with the secret unset the route answers
 * 503 and says how to set it.
 *
 * @example app.post("/api/v1/ingest", bearerSecret("INGEST_TOKEN"), handler)
 */
export const bearerSecret = (name: SecretName) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const secret = c.env[name];
    if (!secret) {
      throw new ApiError(503, `${name} is not configured`, [
        `set it with \`wrangler secret put ${name}\` (or in .dev.vars for local development)`,
      ]);
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) {
      throw new ApiError(401, "missing bearer token", ["send Authorization: Bearer <token>"], {
        "WWW-Authenticate": 'Bearer realm="happy-hub"',
      });
    }
    if (!(await constantTimeEqual(match[1]!.trim(), secret))) {
      throw new ApiError(401, "invalid bearer token", [], { "WWW-Authenticate": 'Bearer realm="happy-hub", error="invalid_token"' });
    }
    await next();
  });
