import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { parseDevVars } from "../scripts/lib/dev-vars";

/** Where the CLI talks to and with which tokens, after flags, environment and .dev.vars are merged. */
export interface CliConfig {
  url: string;
  /** Sent to admin routes (rules set, rebuild, stats). */
  adminToken: string | undefined;
  /** Sent to read routes when set (a deployment that guards its reads). */
  viewerToken: string | undefined;
  json: boolean;
}

/** The `npm start` / `wrangler dev` default. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

export const CONFIG_HELP = `Configuration (a flag wins over the environment, which wins over ./.dev.vars):
  --url <url>            HAPPY_HUB_URL     the worker (default ${DEFAULT_URL})
  --admin-token <token>  ADMIN_TOKEN       for rules set, rebuild, stats
  --viewer-token <token> VIEWER_TOKEN      sent with reads when set
  --json                                   machine-readable output (one JSON document, or one per line with --follow)
  -h, --help                               this help`;

const url = z
  .string()
  .url("must be a URL like https://happy-hub.example.workers.dev")
  .refine((u) => /^https?:$/.test(new URL(u).protocol), "must be an http(s) URL")
  .transform((u) => u.replace(/\/+$/, ""));

/** A usage problem: exit code 2. */
export class UsageError extends Error {}

/**
 * Merges the flags with the environment and, when present, `.dev.vars` in the
 * working directory (what `npm start` writes), so that a local worker needs no
 * setup.
 */
export function resolveConfig(
  flags: { url?: string | undefined; "admin-token"?: string | undefined; "viewer-token"?: string | undefined; json?: boolean | undefined },
  env: NodeJS.ProcessEnv,
  cwd: string,
): CliConfig {
  const devVarsPath = resolve(cwd, ".dev.vars");
  const devVars = existsSync(devVarsPath) ? parseDevVars(readFileSync(devVarsPath, "utf8")) : {};
  const pick = (flag: string | undefined, name: string) => flag ?? (env[name] || undefined) ?? (devVars[name] || undefined);
  const rawUrl = pick(flags.url, "HAPPY_HUB_URL") ?? DEFAULT_URL;
  const parsedUrl = url.safeParse(rawUrl);
  if (!parsedUrl.success) throw new UsageError(`--url / HAPPY_HUB_URL ${JSON.stringify(rawUrl)}: ${parsedUrl.error.issues[0]!.message}`);
  return {
    url: parsedUrl.data,
    adminToken: pick(flags["admin-token"], "ADMIN_TOKEN"),
    viewerToken: pick(flags["viewer-token"], "VIEWER_TOKEN"),
    json: flags.json ?? false,
  };
}
