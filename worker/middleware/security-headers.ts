import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/**
 * The page may load scripts, styles, fonts and connections only from its own
 * origin (`connect-src 'self'` covers same-origin ws:/wss: too), no inline
 * script, and no site may frame it. `data:` images: the favicon is inline SVG.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Sent with every response, API and dashboard alike (the dashboard's copy is dist/dashboard/_headers, built from this). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export interface SecurityHeadersOptions {
  /** Headers to set (default: SECURITY_HEADERS). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * Adds the security headers to every response the worker makes. Static assets
 * the assets binding serves without running the worker get the same headers
 * from `_headers` (see dashboard/vite.config.ts). A WebSocket handshake (101)
 * is passed on untouched: its response carries the socket and no document.
 *
 * @example app.use(securityHeaders())
 */
export const securityHeaders = (options: SecurityHeadersOptions = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    await next();
    if (c.res.status === 101) return;
    const headers = options.headers ?? SECURITY_HEADERS;
    try {
      for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    } catch {
      // Responses passed through from a fetch (assets, objects) have immutable headers: copy once, then set.
      c.res = new Response(c.res.body, c.res);
      for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    }
  });
