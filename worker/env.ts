/** Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declared here. */
interface Secrets {
  /** Bearer token the bridge sends to POST /api/v1/ingest. Unset: ingest answers 503. */
  INGEST_TOKEN?: string;
  /** Bearer token for admin routes (rebuild, stats, rules). Unset: they answer 503. */
  ADMIN_TOKEN?: string;
}

/** Optional settings (`[vars]` in wrangler.toml or the dashboard); each has a default when unset. */
interface Settings {
  /** Live sockets one location accepts (default 10,000); beyond it a new socket is closed with 1013. */
  MAX_SOCKETS_PER_LOCATION?: string;
}

declare global {
  interface Env extends Secrets, Settings {}
  namespace Cloudflare {
    interface Env extends Secrets, Settings {}
  }
}

export type AppEnv = { Bindings: Env };
