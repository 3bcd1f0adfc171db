import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnWranglerDev, stopProcessGroup, waitForHealth } from "../../scripts/lib/wrangler-dev";
import { freePort } from "./free-port";

export interface LocalWorker {
  url: string;
  port: number;
  ingestToken: string;
  adminToken: string;
  persistDir: string;
  /** Stops wrangler dev (and its workerd); keeps the state in persistDir. */
  stop(): Promise<void>;
  /** Stops, then starts again on the same port with the same state. */
  restart(): Promise<void>;
  /** SIGKILLs wrangler dev and its workerd (a crash: no graceful shutdown); `restart()` starts it again on the same state. */
  kill(): Promise<void>;
  /** Everything wrangler printed, for failing tests to show. */
  output(): string;
  /**
   * The local runtime's own address, past wrangler's dev proxy (which a
   * deployed worker does not have): the benchmarks measure both. Known only
   * with `logLevel: "debug"`, where wrangler prints it; null otherwise.
   */
  runtimeUrl(): string | null;
  /** Stops and removes the state directory (unless it was given). */
  dispose(): Promise<void>;
}

export interface LocalWorkerOptions {
  port?: number;
  /** Reuse an existing state directory (default: a fresh temp dir, removed by `dispose`). */
  persistDir?: string;
  ingestToken?: string;
  adminToken?: string;
  /** More vars/secrets for the worker (VIEWER_TOKEN, SHARE_SECRET, ALLOWED_ORIGINS…). */
  vars?: Record<string, string>;
  /** The checkout to run (default: this one). */
  root?: string;
  /** `info`: wrangler prints one line per request (to count them); `debug`: also where the runtime itself listens (`runtimeUrl`). */
  logLevel?: "warn" | "info" | "debug";
  /** Another wrangler config than ./wrangler.toml. */
  config?: string;
}

/**
 * Runs the real worker under `wrangler dev` (workerd, the local runtime) on
 * 127.0.0.1 with its own state directory, and waits until it answers.
 * The dashboard is served from dist/dashboard as built.
 */
export async function startLocalWorker(options: LocalWorkerOptions = {}): Promise<LocalWorker> {
  const port = options.port ?? (await freePort());
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "happy-hub-worker-"));
  // Secrets need 32 characters or more (worker/secrets.ts).
  const ingestToken = options.ingestToken ?? "test-ingest-token-0123456789abcdef";
  const adminToken = options.adminToken ?? "test-admin-token-0123456789abcdefg";
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let log = "";

  const start = async () => {
    child = spawnWranglerDev({
      port,
      inspectorPort: await freePort(),
      persistDir,
      ...(options.config ? { config: options.config } : {}),
      vars: { INGEST_TOKEN: ingestToken, ADMIN_TOKEN: adminToken, ...options.vars },
      ...(options.root !== undefined && { root: options.root }),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      // Only what the test passes: a .dev.vars that `npm start` left in the checkout must not change the worker.
      envFile: "/dev/null",
    });
    child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await waitForHealth(url, child, 60_000, () => log);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (c) await stopProcessGroup(c);
  };

  await start();
  return {
    url,
    port,
    ingestToken,
    adminToken,
    persistDir,
    stop,
    kill: async () => {
      const c = child;
      child = null;
      if (c) await stopProcessGroup(c, 0, "SIGKILL");
    },
    restart: async () => {
      await stop();
      await start();
    },
    output: () => log,
    runtimeUrl: () => {
      const found = [...log.matchAll(/"userWorkerUrl":\{"protocol":"(https?):","hostname":"([^"]+)","port":"(\d+)"/g)].at(-1);
      return found ? `${found[1]}://${found[2]}:${found[3]}` : null;
    },
    dispose: async () => {
      await stop();
      if (!options.persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}
