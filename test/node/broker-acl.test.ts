import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type Mosquitto } from "../support/mosquitto";

/**
 * Device identity is the broker's job: mosquitto with a password file and the
 * ACL of docs/examples/mosquitto.acl (the file docs/SECURITY.md shows) lets a
 * device publish only its own events and read only its own commands.
 */
const ACL = resolve(import.meta.dirname, "../../docs/examples/mosquitto.acl");
const USERS = { bridge: "bridge-password", "sensor-1": "sensor-1-password", "sensor-2": "sensor-2-password" } as const;
type User = keyof typeof USERS;

let dir: string;
let broker: Mosquitto;
const clients: MqttClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "happy-hub-acl-"));
  const passwords = join(dir, "passwords");
  for (const [user, password] of Object.entries(USERS)) {
    execFileSync("mosquitto_passwd", [...(user === "bridge" ? ["-c"] : []), "-b", passwords, user, password], { stdio: "pipe" });
  }
  // The later allow_anonymous wins over the helper's default.
  broker = await startMosquitto({ extraConfig: ["allow_anonymous false", `password_file ${passwords}`, `acl_file ${ACL}`].join("\n") });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connectAs(user: User | null, password?: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, {
    clientId: `${user ?? "anonymous"}-${clients.length}`,
    ...(user ? { username: user, password: password ?? USERS[user] } : {}),
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  clients.push(client);
  return client;
}

/** Collects topics received, so a test can wait for one and check what came before it. */
function inbox(client: MqttClient): { topics: string[]; until: (topic: string) => Promise<void> } {
  const topics: string[] = [];
  const waiters: [string, () => void][] = [];
  client.on("message", (topic) => {
    topics.push(topic);
    for (const [want, done] of waiters) if (want === topic) done();
  });
  return {
    topics,
    until: (topic) =>
      new Promise<void>((done, fail) => {
        if (topics.includes(topic)) return done();
        const timer = setTimeout(() => fail(new Error(`no message on ${topic}; got ${JSON.stringify(topics)}\n${broker.output()}`)), 5_000);
        waiters.push([topic, () => (clearTimeout(timer), done())]);
      }),
  };
}

describe("broker ACLs (mosquitto, password file, acl_file with %u patterns)", () => {
  it("refuses anonymous clients and wrong passwords", async () => {
    await expect(connectAs(null)).rejects.toThrow(/Not authorized|Connection refused/);
    await expect(connectAs("sensor-1", "wrong")).rejects.toThrow(/Not authorized|Bad username or password|Connection refused/);
  });

  it("a device publishes its own events; its events as another device never reach the bridge", async () => {
    const bridge = await connectAs("bridge");
    const seen = inbox(bridge);
    await bridge.subscribeAsync("devices/+/messages/events/#", { qos: 1 });
    const device = await connectAs("sensor-1");
    // In order on one connection at QoS 1: if the forged one got through, it would arrive before the last.
    await device.publishAsync("devices/sensor-2/messages/events/%24.mid=forged&location=MTC", '{"vote":0}', { qos: 1 });
    await device.publishAsync("devices/sensor-1/messages/events/%24.mid=own&location=MTC", '{"vote":1}', { qos: 1 });
    await seen.until("devices/sensor-1/messages/events/%24.mid=own&location=MTC");
    expect(seen.topics).toEqual(["devices/sensor-1/messages/events/%24.mid=own&location=MTC"]);
  });

  it("a device reads only its own commands, even with a wildcard, and cannot publish commands", async () => {
    const one = await connectAs("sensor-1");
    const oneInbox = inbox(one);
    const grants = await one.subscribeAsync(["devices/+/messages/devicebound/#", "devices/sensor-2/messages/devicebound/#"], { qos: 1 });
    // mosquitto grants both and checks the read ACL on every message it would deliver: what arrives is the proof.
    expect(grants.map((g) => g.qos)).toEqual([1, 1]);
    const two = await connectAs("sensor-2");
    const twoInbox = inbox(two);
    await two.subscribeAsync("devices/sensor-2/messages/devicebound/#", { qos: 1 });

    // A device posing as the bridge: its command never reaches sensor-2.
    await one.publishAsync("devices/sensor-2/messages/devicebound/%24.mid=fake", '{"command":"OFF"}', { qos: 1 });
    const bridge = await connectAs("bridge");
    await bridge.publishAsync("devices/sensor-2/messages/devicebound/%24.mid=c-2", '{"command":"ON"}', { qos: 1 });
    await bridge.publishAsync("devices/sensor-1/messages/devicebound/%24.mid=c-1", '{"command":"ON"}', { qos: 1 });
    await Promise.all([twoInbox.until("devices/sensor-2/messages/devicebound/%24.mid=c-2"), oneInbox.until("devices/sensor-1/messages/devicebound/%24.mid=c-1")]);
    expect(twoInbox.topics).toEqual(["devices/sensor-2/messages/devicebound/%24.mid=c-2"]);
    expect(oneInbox.topics).toEqual(["devices/sensor-1/messages/devicebound/%24.mid=c-1"]);
  });
});
