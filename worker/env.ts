/** Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declared here. */
interface Secrets {
  /** Bearer token the bridge sends to POST /api/v1/ingest. Unset: ingest answers 503. */
  INGEST_TOKEN?: string;
  /** Bearer token for admin routes (rebuild, stats, rules). Unset: they answer 503. */
  ADMIN_TOKEN?: string;
}

declare global {
  interface Env extends Secrets {}
  namespace Cloudflare {
    interface Env extends Secrets {}
  }
}

export type AppEnv = { Bindings: Env };
