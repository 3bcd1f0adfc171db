import { z } from "zod";

/**
 * Viewer access: signing in with the viewer token, and share links for one
 * location (kiosks, wall displays). See README "How access works".
 */

/** POST /api/v1/session: trade the viewer token for a session cookie. */
export const sessionBody = z.strictObject({
  token: z.string({ error: (issue) => (issue.input === undefined ? "token is required" : "token must be a string") }).min(1, "token must not be empty"),
});
export type SessionBody = z.infer<typeof sessionBody>;

/** The answer to POST /api/v1/session: when the cookie stops working. */
export const sessionResponse = z.object({ expiresAt: z.iso.datetime() });
export type SessionResponse = z.infer<typeof sessionResponse>;

/** Share links live at most 30 days: a kiosk's link is renewed, not made forever. */
export const SHARE_LIMITS = { minSeconds: 60, maxSeconds: 30 * 24 * 3600 } as const;

/** POST /api/v1/locations/{location}/share (admin). */
export const shareBody = z.strictObject({
  expiresInSeconds: z
    .number({ error: (issue) => (issue.input === undefined ? "expiresInSeconds is required" : "expiresInSeconds must be a number") })
    .int("expiresInSeconds must be an integer")
    .min(SHARE_LIMITS.minSeconds, `expiresInSeconds must be at least ${SHARE_LIMITS.minSeconds}`)
    .max(SHARE_LIMITS.maxSeconds, `expiresInSeconds must be at most ${SHARE_LIMITS.maxSeconds} (30 days)`),
});
export type ShareBody = z.infer<typeof shareBody>;

/** A share link: `url` opens the dashboard on the location with the key; `key` also works as `?key=` or a bearer token. */
export const shareResponse = z.object({ url: z.url(), key: z.string(), expiresAt: z.iso.datetime() });
export type ShareResponse = z.infer<typeof shareResponse>;

/** Share keys start with this, so a bearer token is told apart from the viewer token without trying both. */
export const SHARE_KEY_PREFIX = "share.";

/** GET /api/v1/session: whether reads are public, and whether this browser is signed in. */
export const sessionStatus = z.object({ access: z.enum(["public", "token-required", "signed-in"]) });
export type SessionStatus = z.infer<typeof sessionStatus>;
