import { SHARE_KEY_PREFIX } from "../protocol";
import { decodeText, encodeText, sign, verify } from "./crypto";

/**
 * The two signed credentials of viewer access. Both are stateless: nothing is
 * stored, a signature proves them. Sessions are signed with VIEWER_TOKEN
 * itself, so rotating it signs everyone out; share keys with SHARE_SECRET, so
 * rotating it revokes every link.
 */

/** A session cookie lasts a week; signing in again renews it. */
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
export const SESSION_COOKIE = "hh_session";

const sessionMessage = (expiresAt: number) => `session.v1\n${expiresAt}`;

/** A session cookie value `v1.<expiresAt ms>.<hmac>`: it holds no token, only proof that one was shown. */
export async function makeSession(viewerToken: string, now: number): Promise<{ value: string; expiresAt: number }> {
  const expiresAt = now + SESSION_TTL_SECONDS * 1000;
  return { value: `v1.${expiresAt}.${await sign(viewerToken, sessionMessage(expiresAt))}`, expiresAt };
}

export async function checkSession(viewerToken: string, value: string, now: number): Promise<"ok" | "expired" | "invalid"> {
  const m = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return "invalid";
  const expiresAt = Number(m[1]);
  if (!(await verify(viewerToken, sessionMessage(expiresAt), m[2]!))) return "invalid";
  return expiresAt <= now ? "expired" : "ok";
}

const shareMessage = (location: string, expiresAt: number) => `share.v1\n${location}\n${expiresAt}`;

/** A share key `share.<base64url location>.<expiresAt ms>.<hmac>`, read-only for one location. */
export async function makeShareKey(shareSecret: string, location: string, expiresAt: number): Promise<string> {
  return `${SHARE_KEY_PREFIX}${encodeText(location)}.${expiresAt}.${await sign(shareSecret, shareMessage(location, expiresAt))}`;
}

export type ShareCheck = { ok: true; location: string; expiresAt: number } | { ok: false; reason: "invalid" | "expired" };

export async function checkShareKey(shareSecret: string, key: string, now: number): Promise<ShareCheck> {
  const m = /^share\.([A-Za-z0-9_-]{1,400})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(key);
  const location = m ? decodeText(m[1]!) : null;
  if (!m || location === null) return { ok: false, reason: "invalid" };
  const expiresAt = Number(m[2]);
  if (!(await verify(shareSecret, shareMessage(location, expiresAt), m[3]!))) return { ok: false, reason: "invalid" };
  return expiresAt <= now ? { ok: false, reason: "expired" } : { ok: true, location, expiresAt };
}
