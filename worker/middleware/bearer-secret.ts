import { createMiddleware } from "hono/factory";
import { tokenMatches } from "../crypto";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";
import { requireSecret } from "../secrets";

/** The secrets that guard a route as a plain bearer token (VIEWER_TOKEN has its own middleware: viewer-access.ts). */
export type BearerSecretName = "INGEST_TOKEN" | "ADMIN_TOKEN";

/** The bearer token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return match ? match[1]!.trim() : null;
}

export const unauthorized = (error: string, issues: string[], invalidToken: boolean): ApiError =>
  new ApiError(401, error, issues, {
    "WWW-Authenticate": invalidToken ? 'Bearer realm="happy-hub", error="invalid_token"' : 'Bearer realm="happy-hub"',
  });

/**
 * Requires `Authorization: Bearer <secret>` where the secret is the Worker
 * secret `name`. Never open by default: with the secret unset, shorter than 32
 * characters or equal to another secret, the route answers 503 and says why.
 * The token is compared as a SHA-256 digest with `crypto.subtle.timingSafeEqual`.
 *
 * @example app.post("/api/v1/ingest", bearerSecret("INGEST_TOKEN"), handler)
 */
export const bearerSecret = (name: BearerSecretName) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const secret = requireSecret(c.env, name);
    const token = bearerToken(c.req.header("authorization"));
    if (token === null) throw unauthorized("missing bearer token", ["send Authorization: Bearer <token>"], false);
    if (!(await tokenMatches(token, secret))) throw unauthorized("invalid bearer token", [], true);
    await next();
  });
