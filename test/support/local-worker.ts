import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./free-port";

const ROOT = resolve(import.meta.dirname, "../..");

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
  /** Everything wrangler printed, for failing tests to show. */
  output(): string;
}

export interface LocalWorkerOptions {
  port?: number;
  /** Reuse an existing state directory (default: a fresh temp dir, removed by `dispose`). */
  persistDir?: string;
  ingestToken?: string;
  adminToken?: string;
}

/**
 * Runs the real worker under `wrangler dev` (workerd, the local runtime) on
 * 127.0.0.1 with its own state directory, and waits until it answers.
 * The dashboard is served from dist/dashboard as built.
 */
export async function startLocalWorker(options: LocalWorkerOptions = {}): Promise<LocalWorker & { dispose(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "happy-hub-worker-"));
  const ingestToken = options.ingestToken ?? "test-ingest-token";
  const adminToken = options.adminToken ?? "test-admin-token";
  let child: ChildProcess | null = null;
  let log = "";

  const start = async () => {
    const inspectorPort = await freePort();
    child = spawn(
      resolve(ROOT, "node_modules/.bin/wrangler"),
      [
        "dev",
        "--ip", "127.0.0.1",
        "--port", String(port),
        "--inspector-port", String(inspectorPort),
        "--persist-to", persistDir,
        "--var", `INGEST_TOKEN:${ingestToken}`,
        "--var", `ADMIN_TOKEN:${adminToken}`,
        "--show-interactive-dev-session=false",
        "--log-level", "warn",
      ],
      {
        cwd: ROOT,
        env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // own process group, so stop() ends workerd too
      },
    );
    child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`wrangler dev did not answer on ${port} within 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.pid === undefined) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    try {
      process.kill(-c.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ingestToken,
    adminToken,
    persistDir,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    output: () => log,
    dispose: async () => {
      await stop();
      if (!options.persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}
