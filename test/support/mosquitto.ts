import { execFileSync, spawn, type ChildProcess } from "node:child_process";
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
  /**
   * Keep sessions and queued messages across `restart()` in a data directory
   * of its own (mosquitto writes it when it stops, and on `autosave_interval`).
   */
  persistence?: boolean;
  /** Extra lines for mosquitto.conf (limits…). */
  extraConfig?: string;
  /** Also listen with TLS on another free port (see `tlsUrl`). */
  tls?: { caFile: string; certFile: string; keyFile: string; requireCertificate?: boolean };
}

export interface Mosquitto {
  url: string;
  port: number;
  /** `mqtts://127.0.0.1:{port}` when started with `tls`. */
  tlsUrl?: string;
  configPath: string;
  /** Stops mosquitto (SIGTERM, then SIGKILL after 5 s). Sessions are in memory and end with it. */
  stop(): Promise<void>;
  /** Stops (SIGTERM) and starts it again on the same port(s) and config: sessions and queued messages survive only with `persistence`. */
  restart(): Promise<void>;
  /** Everything mosquitto logged, for failing tests to show. */
  output(): string;
}

/** Runs Debian's mosquitto on 127.0.0.1 and a free port with its own config file; resolves once it accepts connections. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "happy-hub-mosquitto-"));
  const configPath = join(dir, "mosquitto.conf");
  const tlsPort = options.tls ? await freePort() : undefined;
  writeFileSync(
    configPath,
    [
      // Run as root, mosquitto would switch to its own user and then fail to read files in our private temp dirs.
      process.getuid?.() === 0 ? "user root" : "",
      "per_listener_settings false",
      "allow_anonymous true",
      `max_queued_messages ${options.maxQueuedMessages ?? 1_000_000}`,
      ...(options.persistence ? ["persistence true", `persistence_location ${dir}/`, "autosave_interval 5"] : ["persistence false"]),
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      `listener ${port} 127.0.0.1`,
      ...(options.tls
        ? [
            `listener ${tlsPort} 127.0.0.1`,
            `cafile ${options.tls.caFile}`,
            `certfile ${options.tls.certFile}`,
            `keyfile ${options.tls.keyFile}`,
            `require_certificate ${options.tls.requireCertificate ? "true" : "false"}`,
          ]
        : []),
      options.extraConfig ?? "",
    ].join("\n") + "\n",
  );
  let log = "";
  let child: ChildProcess;
  let exited: Promise<void>;
  const start = async () => {
    child = spawn(MOSQUITTO_BIN, ["-c", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    const running = child;
    exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (running.exitCode !== null) throw new Error(`mosquitto exited with ${running.exitCode}:\n${log}`);
      if (Date.now() > deadline) {
        running.kill("SIGKILL");
        throw new Error(`mosquitto did not listen on ${port} within 10 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  await start();

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    ...(tlsPort ? { tlsUrl: `mqtts://127.0.0.1:${tlsPort}` } : {}),
    configPath,
    output: () => log,
    restart: async () => {
      await halt();
      await start();
    },
    stop: async () => {
      await halt();
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

export interface TestPki {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate (openssl, P-256, valid one day). */
export function makeTestPki(dir: string): TestPki {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...key, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=happy-hub test CA", "-days", "1");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const [name, subject, ext] of [["server", "/CN=127.0.0.1", ["-extfile", "server.ext"]], ["client", "/CN=bridge", []]] as const) {
    openssl("req", ...key, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", ...ext);
  }
  return {
    caFile: join(dir, "ca.crt"),
    serverCertFile: join(dir, "server.crt"),
    serverKeyFile: join(dir, "server.key"),
    clientCertFile: join(dir, "client.crt"),
    clientKeyFile: join(dir, "client.key"),
  };
}
