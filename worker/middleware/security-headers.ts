import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { SECURITY_HEADERS } from "../security-policy";

export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from "../security-policy";

export interface SecurityHeadersOptions {
  /** Headers to set (default: SECURITY_HEADERS). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * Adds the security headers to every response the worker makes, except where
 * a route set its own (the API docs page has its own CSP). Static assets
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
    const headers = Object.entries(options.headers ?? SECURITY_HEADERS).filter(([name]) => !c.res.headers.has(name));
    try {
      for (const [name, value] of headers) c.res.headers.set(name, value);
    } catch {
      // Responses passed through from a fetch (assets, objects) have immutable headers: copy once, then set.
      c.res = new Response(c.res.body, c.res);
      for (const [name, value] of headers) c.res.headers.set(name, value);
    }
  });
