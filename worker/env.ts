/** Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declared here. */
interface Secrets {
  /** Bearer token the bridge sends to POST /api/v1/ingest. Unset: ingest answers 503. */
  INGEST_TOKEN?: string;
  /** Bearer token for admin routes (rebuild, stats, rules, share links). Unset: they answer 503. */
  ADMIN_TOKEN?: string;
  /** Unset: reads and live sockets are public. Set: they need it (bearer or session cookie) or a share key. */
  VIEWER_TOKEN?: string;
  /** Signs share links; rotating it revokes every link. Unset: share links answer 503. */
  SHARE_SECRET?: string;
}
// Every secret must be at least 32 characters and differ from the others (worker/secrets.ts).

/** Optional settings (`[vars]` in wrangler.toml or the dashboard); each has a default when unset. */
interface Settings {
  /** Live sockets one location accepts (default 10,000); beyond it a new socket is closed with 1013. */
  MAX_SOCKETS_PER_LOCATION?: string;
  /** Origins besides the worker's own whose pages may open live sockets, comma-separated (e.g. `https://wall.example.org`). */
  ALLOWED_ORIGINS?: string;
  /** `open` (default): a device the registry does not know sends as before; `registered`: its events are rejected. */
  DEVICE_ENROLLMENT?: string;
  /**
   * Days a location's log keeps its readings (decimals allowed; unset: for ever). Older ones are dropped by
   * the location's alarm while every projection keeps their totals (durable-objects/location/retention.ts).
   * Anything but a positive number: every call reaching a location answers 503 with why (worker/retention-setting.ts).
   */
  RETENTION_DAYS?: string;
}

declare global {
  interface Env extends Secrets, Settings {}
  namespace Cloudflare {
    interface Env extends Secrets, Settings {}
  }
}

export type AppEnv = { Bindings: Env };
