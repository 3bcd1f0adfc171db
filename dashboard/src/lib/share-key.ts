/**
 * A share link's `?key=`, kept for the whole visit (client-side navigation
 * drops the query) and sent with every read: as a bearer token on fetches,
 * as `?key=` on live sockets (browsers cannot set headers on a WebSocket).
 * Without it, the browser's session cookie does the work.
 */
export const shareKey: string | null = typeof window === "undefined" ? null : new URLSearchParams(window.location.search).get("key");

export const readHeaders = (key = shareKey): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

export const withKey = (url: string, key = shareKey): string => (key ? `${url}${url.includes("?") ? "&" : "?"}key=${encodeURIComponent(key)}` : url);

let unauthorized: () => void = () => {};
/** What to do when a read answers 401 (the app shows the sign-in form). */
export const whenUnauthorized = (handler: () => void): void => {
  unauthorized = handler;
};
export const noteUnauthorized = (): void => unauthorized();
