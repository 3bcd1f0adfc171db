import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import mqtt from "mqtt";
import { eventsPage, type LogEvent, type ReadingEvent } from "../../protocol";

/** Helpers shared by the bridge's integration suites. */

export const ROOT = resolve(import.meta.dirname, "../..");

/** Every event of `location`, paged through GET …/events (1000 at a time). */
export async function storedEvents(workerUrl: string, location: string): Promise<LogEvent[]> {
  const all: LogEvent[] = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${workerUrl}/api/v1/locations/${encodeURIComponent(location)}/events?after=${after}&limit=1000`);
    if (!res.ok) throw new Error(`GET events of ${location}: ${res.status} ${await res.text()}`);
    const page = eventsPage.parse(await res.json());
    all.push(...page.events);
    if (page.next === null) return all;
    after = page.next;
  }
}

/** Device readings stored at `location` (the log also holds the rules' alerts and commands). */
export async function storedReadings(workerUrl: string, location: string): Promise<ReadingEvent[]> {
  return (await storedEvents(workerUrl, location)).filter((e): e is ReadingEvent => e.type === "reading");
}

/** Ids of the readings stored at `locations`, with how many times each appears. */
export async function storedIds(workerUrl: string, locations: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const location of locations) for (const e of await storedReadings(workerUrl, location)) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  return counts;
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Scrapes /metrics into name{labels} → value. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** The dead-letter file as parsed lines ([] when there is none yet). */
export function deadLetters(path: string): { reason: string; errors: string[]; source: Record<string, unknown> }[] {
  try {
    return readFileSync(path, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

export interface TestMessage {
  topic: string;
  payload: string | Buffer;
}

/** An Azure-style telemetry message with `$.mid` and a location in the property bag. */
export const telemetry = (deviceId: string, mid: string, location: string, body: object = { vote: 1, temperature: 21.5, humidity: 40 }): TestMessage => ({
  topic: `devices/${deviceId}/messages/events/%24.mid=${encodeURIComponent(mid)}&location=${encodeURIComponent(location)}`,
  payload: JSON.stringify(body),
});

/**
 * Publishes QoS 1 at about `perSecond` (0: as fast as PUBACKs allow), keeping
 * a bounded window in flight. `onProgress(n)` runs after each PUBACK.
 */
export async function publishAll(
  url: string,
  messages: readonly TestMessage[],
  options: { perSecond?: number; onProgress?: (acked: number) => void | Promise<void>; protocolVersion?: 4 | 5 } = {},
): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `test-pub-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, protocolVersion: options.protocolVersion ?? 4, reconnectPeriod: 0 });
  const window = 200;
  let acked = 0;
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  try {
    for (let i = 0; i < messages.length; i++) {
      if (options.perSecond) {
        const due = started + (i * 1000) / options.perSecond;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const m = messages[i]!;
      const p: Promise<void> = client.publishAsync(m.topic, m.payload, { qos: 1 }).then(async () => {
        inFlight.delete(p);
        acked++;
        await options.onProgress?.(acked);
      });
      inFlight.add(p);
      if (inFlight.size >= window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await client.endAsync();
  }
}

export interface BridgeProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running; always waits for exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the bridge CLI as docs/BRIDGE.md says to (`node --max-old-space-size=96 bin/happy-hub-bridge.mjs`) with `env` and `args`. */
export function spawnBridge(env: Record<string, string>, args: string[] = []): BridgeProcess {
  let log = "";
  const child = spawn(resolve(ROOT, "node_modules/.bin/node"), ["--max-old-space-size=96", resolve(ROOT, "bin/happy-hub-bridge.mjs"), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  return {
    child,
    output: () => log,
    exited,
    kill: async (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Waits until the bridge's /healthz answers 200. */
export async function waitHealthy(port: number, bridge?: BridgeProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `bridge /healthz on ${port}${bridge ? `\n${bridge.output()}` : ""}`,
    async () => {
      if (bridge && bridge.child.exitCode !== null) throw new Error(`bridge exited with ${bridge.child.exitCode}:\n${bridge.output()}`);
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    timeoutMs,
  );
}

export interface ReceivedCommandMessage {
  topic: string;
  payload: string;
  /** The `$.mid` of the topic (the command id). */
  commandId: string;
  at: number;
}

export interface TestDevice {
  client: mqtt.MqttClient;
  /** What arrived on its devicebound topic, in order. */
  received: ReceivedCommandMessage[];
  /** Publishes `n` votes QoS 1 (each with its own `$.mid` and the location); resolves when the broker acknowledged the last, with that time. */
  vote(value: 0 | 0.5 | 1, n: number): Promise<number>;
}

/** A device on its own MQTT connection: publishes votes, records what arrives on `devices/{id}/messages/devicebound/#`. End it with `client.endAsync()`. */
export async function startTestDevice(brokerUrl: string, id: string, location: string): Promise<TestDevice> {
  const received: ReceivedCommandMessage[] = [];
  const client = await mqtt.connectAsync(brokerUrl, { clientId: `device-${id}-${process.pid}`, reconnectPeriod: 0 });
  await client.subscribeAsync(`devices/${id}/messages/devicebound/#`, { qos: 1 });
  client.on("message", (topic, payload) => {
    const mid = /%24\.mid=([^&]*)/.exec(topic)?.[1];
    received.push({ topic, payload: payload.toString(), commandId: mid === undefined ? "" : decodeURIComponent(mid), at: Date.now() });
  });
  return {
    client,
    received,
    async vote(value, n) {
      for (let i = 0; i < n; i++) {
        const m = telemetry(id, `${id}-${Math.random().toString(36).slice(2)}-${Date.now()}`, location, { vote: value });
        await client.publishAsync(m.topic, m.payload, { qos: 1 });
      }
      return Date.now();
    },
  };
}
