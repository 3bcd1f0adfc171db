import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";

export const MOSQUITTO_BIN = "/usr/sbin/mosquitto";

export interface MosquittoOptions {
  port?: number;
  /**
   * Messages mosquitto queues per offline or slow QoS 1 subscriber. Its
   * default (1000) silently drops the rest, so tests default to a million.
   */
  maxQueuedMessages?: number;
  /** Extra lines for mosquitto.conf (TLS listeners, limits…). */
  extraConfig?: string;
}

export interface Mosquitto {
  url: string;
  port: number;
  configPath: string;
  /** Stops mosquitto (SIGTERM, then SIGKILL after 5 s). Sessions are in memory and end with it. */
  stop(): Promise<void>;
  /** Everything mosquitto logged, for failing tests to show. */
  output(): string;
}

/** Runs Debian's mosquitto on 127.0.0.1 and a free port with its own config file; resolves once it accepts connections. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "happy-hub-mosquitto-"));
  const configPath = join(dir, "mosquitto.conf");
  writeFileSync(
    configPath,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      `max_queued_messages ${options.maxQueuedMessages ?? 1_000_000}`,
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      options.extraConfig ?? "",
    ].join("\n") + "\n",
  );
  let log = "";
  const child: ChildProcess = spawn(MOSQUITTO_BIN, ["-c", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`mosquitto did not listen on ${port} within 10 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    configPath,
    output: () => log,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
