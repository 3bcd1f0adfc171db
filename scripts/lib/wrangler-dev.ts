import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface WranglerDevOptions {
  port: number;
  inspectorPort: number;
  persistDir: string;
  /** Passed as `--var NAME:value` (they win over .dev.vars). */
  vars?: Record<string, string>;
  /** Another wrangler config than ./wrangler.toml (the cold-start benchmark compares two). */
  config?: string;
  /** Where stdout and stderr go (default: piped, read them from the child). */
  stdio?: "pipe" | "inherit" | number;
  /** The checkout to run (default: this one); benchmarks run an older build beside it. */
  root?: string;
  /** wrangler's --log-level (default warn); `info` prints one line per request; `debug` also the runtime's own address. */
  logLevel?: "warn" | "info" | "debug";
  /** Secrets and vars from this file instead of the checkout's `.dev.vars` (tests pass /dev/null: theirs are all `vars`). */
  envFile?: string;
}

/**
 * Starts the worker under `wrangler dev` (the local workerd runtime) on
 * 127.0.0.1, in its own process group so that stopping it ends workerd too.
 */
export function spawnWranglerDev(o: WranglerDevOptions): ChildProcess {
  const vars = Object.entries(o.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const out = o.stdio ?? "pipe";
  const root = o.root ?? ROOT;
  return spawn(
    resolve(root, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(o.port),
      "--inspector-port", String(o.inspectorPort),
      "--persist-to", o.persistDir,
      "--show-interactive-dev-session=false",
      "--log-level", o.logLevel ?? "warn",
      ...(o.config ? ["--config", o.config] : []),
      ...(o.envFile ? ["--env-file", o.envFile] : []),
      ...vars,
    ],
    {
      cwd: root,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", out, out],
      detached: true,
    },
  );
}

/** Resolves once GET {url}/api/v1/health answers 200; rejects if the child exits or time runs out. */
export async function waitForHealth(url: string, child: ChildProcess, timeoutMs = 60_000, log: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}\n${log()}`);
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`wrangler dev did not answer at ${url} within ${timeoutMs / 1000} s\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `first` (SIGTERM; SIGKILL for a crash) to the child's process group, SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopProcessGroup(child: ChildProcess, graceMs = 5_000, first: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // already gone
    }
  };
  signal(first);
  const timer = setTimeout(() => signal("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
