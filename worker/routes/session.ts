import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sessionBody, type SessionResponse, type SessionStatus } from "../../protocol";
import { isoString } from "../../protocol/time";
import { checkSession, makeSession, SESSION_COOKIE, SESSION_TTL_SECONDS } from "../credentials";
import { tokenMatches } from "../crypto";
import type { AppEnv } from "../env";
import { perIp } from "../guards";
import { readJsonBody } from "../json-body";
import { unauthorized } from "../middleware/bearer-secret";
import { parseOr400 } from "../params";
import { isSet, requireSecret } from "../secrets";

const COOKIE = { path: "/", httpOnly: true, secure: true, sameSite: "Strict" } as const;

/**
 * Signing in and out (/api/v1/session). The cookie holds an HMAC-signed
 * expiry, never the token; browsers send it with fetches and WebSocket
 * upgrades alike, which cannot carry an Authorization header.
 */
export const session = new Hono<AppEnv>()
  // Always public: the dashboard asks it whether to offer sign-in and what its footer says.
  .get("/", perIp, async (c) => {
    if (!isSet(c.env, "VIEWER_TOKEN")) return c.json({ access: "public" } satisfies SessionStatus);
    const cookie = getCookie(c, SESSION_COOKIE);
    const signedIn = cookie !== undefined && (await checkSession(requireSecret(c.env, "VIEWER_TOKEN"), cookie, Date.now())) === "ok";
    return c.json({ access: signedIn ? "signed-in" : "token-required" } satisfies SessionStatus);
  })
  .post("/", perIp, async (c) => {
    const viewerToken = requireSecret(c.env, "VIEWER_TOKEN");
    const { token } = parseOr400(sessionBody, await readJsonBody(c.req.raw, 4096), "session body");
    if (!(await tokenMatches(token, viewerToken))) throw unauthorized("invalid viewer token", ["ask whoever runs this hub for the viewer token"], true);
    const { value, expiresAt } = await makeSession(viewerToken, Date.now());
    setCookie(c, SESSION_COOKIE, value, { ...COOKIE, maxAge: SESSION_TTL_SECONDS });
    return c.json({ expiresAt: isoString(expiresAt) } satisfies SessionResponse);
  })
  .delete("/", (c) => {
    deleteCookie(c, SESSION_COOKIE, COOKIE);
    return c.body(null, 204);
  });
