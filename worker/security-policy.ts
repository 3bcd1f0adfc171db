/** The security headers, apart from the middleware so the dashboard's build can write them into `_headers`. */

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
