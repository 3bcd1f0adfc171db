import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type Bridge, type Health } from "../../bridge/bridge";
import type { BridgeConfigInput } from "../../bridge/config";
import { createLogger } from "../../bridge/log";
import type { CommandDeliveredEvent, CommandIssuedEvent } from "../../protocol";
import { freePort } from "../support/free-port";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { startMosquitto, type Mosquitto } from "../support/mosquitto";
import { createParts } from "../support/parts";
import { spawnBridge, startTestDevice, storedEvents, waitFor, waitHealthy, type BridgeProcess, type TestDevice } from "./bridge-harness";

/**
 * Commands pushed to the bridge, every part real: wrangler dev (the commands
 * hub and the locations in workerd), mosquitto, the bridge (in this process,
 * or as its CLI where it must be SIGKILLed), devices on their own MQTT
 * connections. Each command must reach its device exactly once across bridge
 * kills, a worker restart, a wiped worker state and two bridges on one
 * shared subscription; idle, the bridge must cost at most a keep-alive.
 */

const parts = createParts();
let worker: LocalWorker;
let broker: Mosquitto;

beforeAll(async () => {
  [worker, broker] = await parts.startAll<[LocalWorker, Mosquitto]>([
    // `info`: wrangler prints one line per request, which the idle test counts.
    parts.start(startLocalWorker({ logLevel: "info" }), (w) => w.dispose()),
    parts.start(startMosquitto(), (b) => b.stop()),
  ]);
});
afterAll(() => parts.stopAll());

const bridgesOfTest: Bridge[] = [];
afterEach(async () => {
  for (const b of bridgesOfTest.splice(0)) await b.stop();
});

const device = (id: string, location: string) => parts.start(startTestDevice(broker.url, id, location), (d) => d.client.endAsync());

/** An in-process bridge with its own state directory and MQTT session; resolves once its commands socket is resumed. */
async function inProcessBridge(overrides: BridgeConfigInput = {}): Promise<Bridge> {
  const stateDir = mkdtempSync(join(tmpdir(), "commands-bridge-"));
  parts.add(async () => rmSync(stateDir, { recursive: true, force: true }));
  const bridge = await parts.start(
    startBridge(
      {
        mqttUrl: broker.url,
        mqttClientId: `commands-bridge-${process.pid}-${randomUUID().slice(0, 6)}`,
        ingestUrl: `${worker.url}/api/v1/ingest`,
        ingestToken: worker.ingestToken,
        stateDir,
        httpPort: 0,
        retryMinMs: 100,
        retryMaxMs: 1_000,
        mqttReconnectMinMs: 100,
        mqttReconnectMaxMs: 1_000,
        ...overrides,
      },
      { log: createLogger({ level: "warn", write: () => {} }) },
    ),
    (b) => b.stop(),
  );
  bridgesOfTest.push(bridge);
  await waitFor("the commands socket", () => bridge.health().ok && bridge.health().commands.connected, 15_000, 20);
  return bridge;
}

const commandLog = async (location: string) => {
  const events = await storedEvents(worker.url, location);
  return {
    issued: events.filter((e): e is CommandIssuedEvent => e.type === "command-issued"),
    delivered: events.filter((e): e is CommandDeliveredEvent => e.type === "command-delivered"),
  };
};

/** wrangler's request lines (`[wrangler:info] GET /api/v1/… 200 OK (3ms)`). */
const requestLines = () => worker.output().split("\n").filter((l) => /\[wrangler:info\] (GET|POST|PUT|DELETE|PATCH|HEAD) \//.test(l));

/** Gives a stray repeat time to show up. */
const settle = () => new Promise((r) => setTimeout(r, 1_500));

const received = (d: TestDevice) => d.received.map((r) => `${r.payload} ${r.commandId}`);

/**
 * The device got exactly the location's issued commands, each once, in order,
 * with these payloads (ids depend on how votes were batched, so they come
 * from the log), and the log has one delivery per command.
 */
async function expectEachOnce(d: TestDevice, location: string, payloads: string[]): Promise<void> {
  await waitFor(`${payloads.length} deliveries logged at ${location}`, async () => (await commandLog(location)).delivered.length >= payloads.length, 10_000, 100);
  const log = await commandLog(location);
  expect(log.issued.map((e) => `${e.payload} ${e.id}`)).toEqual(received(d));
  expect(d.received.map((r) => r.payload)).toEqual(payloads);
  expect(log.delivered.map((e) => e.commandId)).toEqual(log.issued.map((e) => e.id));
}

describe("commands pushed to the bridge", () => {
  it("a command reaches the device without polling (東京, Zürich); idle, the bridge costs at most 4 worker requests a minute", async () => {
    const tokyo = await device("cmd-tokyo-1", "東京");
    const zurich = await device("cmd-zurich-1", "Zürich");
    const bridge = await inProcessBridge();

    const sadAt = await tokyo.vote(0, 3);
    await zurich.vote(0, 3);
    await waitFor('"ON" at both', () => tokyo.received.length >= 1 && zurich.received.length >= 1, 5_000, 10);
    expect(tokyo.received[0]!.at - sadAt, "from the third sad vote to the command, ms").toBeLessThan(2_000);
    expect(received(tokyo)).toEqual(["ON ~cmd-5"]);
    expect(received(zurich)).toEqual(["ON ~cmd-5"]);
    await waitFor("both deliveries in the locations' logs", async () => (await commandLog("東京")).delivered.length === 1 && (await commandLog("Zürich")).delivered.length === 1, 10_000, 100);
    expect(requestLines().filter((l) => /\/api\/v1\/commands(?!\/live)/.test(l)), "no poll route").toEqual([]);

    // Idle: nothing is published, no vote arrives. Count what reaches the worker.
    // wrangler prints a request's line a moment after answering it: let this test's own reads land first.
    const own = requestLines().length;
    await new Promise((r) => setTimeout(r, 2_000));
    expect(requestLines().length, "this test's own reads").toBeGreaterThanOrEqual(own);
    const IDLE_MS = 25_000;
    const before = requestLines().length;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const during = requestLines().slice(before);
    const perMinute = (during.length * 60_000) / IDLE_MS;
    console.log(`idle: ${during.length} worker requests in ${IDLE_MS / 1000} s (${perMinute.toFixed(1)}/min) with the bridge connected`, during);
    expect(perMinute).toBeLessThanOrEqual(4);
    expect(bridge.health().commands).toMatchObject({ connected: true, role: "active", failures: 0 });
    expect(received(tokyo)).toEqual(["ON ~cmd-5"]);
  });

  it("two bridges on one shared subscription: each command is published once, by the bridge holding the feed; the other takes over when it stops", async () => {
    const group = { mqttShareGroup: "commands-e2e" };
    const a = await inProcessBridge(group);
    const b = await inProcessBridge(group);
    expect([a.health().commands.role, b.health().commands.role].sort()).toEqual(["active", "standby"]);
    const [active, standby] = a.health().commands.role === "active" ? [a, b] : [b, a];
    const one = await device("cmd-share-1", "Share 東京");
    const two = await device("cmd-share-2", "Share Zürich");

    await one.vote(0, 3);
    await two.vote(0, 3);
    await waitFor('"ON" at both', () => one.received.length >= 1 && two.received.length >= 1, 5_000, 10);
    await one.vote(1, 8);
    await two.vote(1, 8);
    await waitFor('"OFF" at both', () => one.received.length >= 2 && two.received.length >= 2, 5_000, 10);
    await settle();
    await expectEachOnce(one, "Share 東京", ["ON", "OFF"]);
    await expectEachOnce(two, "Share Zürich", ["ON", "OFF"]);
    expect(active.metrics.commandsPublished.value()).toBe(4);
    expect(standby.metrics.commandsPublished.value()).toBe(0);

    // The active bridge leaves: the standby one takes the feed.
    await active.stop();
    await waitFor("the standby bridge active", () => standby.health().commands.role === "active", 10_000, 20);
    await one.vote(0, 12); // 8 of 23 happy: 0.35
    await waitFor('"ON" again', () => one.received.length >= 3, 5_000, 10);
    await settle();
    await expectEachOnce(one, "Share 東京", ["ON", "OFF", "ON"]);
    expect(standby.metrics.commandsPublished.value()).toBe(1);
  });

  it("a bridge SIGKILLed and started again on its state: the command issued meanwhile arrives once, nothing is repeated", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "commands-killed-"));
    parts.add(async () => rmSync(stateDir, { recursive: true, force: true }));
    const httpPort = await freePort();
    const env = {
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `commands-killed-${process.pid}`,
      INGEST_URL: `${worker.url}/api/v1/ingest`,
      INGEST_TOKEN: worker.ingestToken,
      BRIDGE_STATE_DIR: stateDir,
      BRIDGE_HTTP_PORT: String(httpPort),
      RETRY_MIN_MS: "100",
      RETRY_MAX_MS: "1000",
    };
    const health = async () => (await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as Health;
    const start = async (): Promise<BridgeProcess> => {
      const p = await parts.start(Promise.resolve(spawnBridge(env)), (b) => b.kill());
      await waitHealthy(httpPort, p);
      await waitFor("the commands socket", async () => (await health()).commands.connected, 15_000, 50);
      return p;
    };
    const led = await device("cmd-killed-1", "Killed Lab");
    let bridge = await start();
    await led.vote(0, 3);
    await waitFor('"ON"', () => led.received.length >= 1, 5_000, 10);
    await waitFor("the ON delivery logged", async () => (await commandLog("Killed Lab")).delivered.length === 1, 10_000, 100);

    expect(await bridge.kill("SIGKILL")).toMatchObject({ signal: "SIGKILL" });
    await led.vote(1, 8); // spooled by mosquitto for the bridge's session
    bridge = await start();
    await waitFor('"OFF" after the restart', () => led.received.length >= 2, 15_000, 10);
    await settle();
    await expectEachOnce(led, "Killed Lab", ["ON", "OFF"]);
    await bridge.kill("SIGTERM");
  });

  it("wrangler dev restarted on the same state: the bridge reconnects in the same epoch and delivers what follows once", async () => {
    const led = await device("cmd-restart-1", "Restart Lab");
    const bridge = await inProcessBridge();
    const epoch = bridge.health().commands.epoch;
    await led.vote(0, 3);
    await waitFor('"ON"', () => led.received.length >= 1, 5_000, 10);
    await waitFor("the ON delivery logged", async () => (await commandLog("Restart Lab")).delivered.length === 1, 10_000, 100);

    await worker.restart();
    await waitFor("reconnected", () => bridge.health().commands.connected, 30_000, 50);
    expect(bridge.health().commands.epoch, "same state: same epoch").toBe(epoch);
    expect(bridge.metrics.commandEpochChanges.value()).toBe(0);
    await led.vote(1, 8);
    await waitFor('"OFF"', () => led.received.length >= 2, 15_000, 10);
    await settle();
    await expectEachOnce(led, "Restart Lab", ["ON", "OFF"]);
  });

  it("a wiped worker state: the bridge sees a new epoch and resyncs from its start, so the new ~cmd-5 is delivered although the old one was", async () => {
    const led = await device("cmd-wiped-1", "Wiped Lab");
    const bridge = await inProcessBridge();
    const epoch = bridge.health().commands.epoch;
    await led.vote(0, 3);
    await waitFor('"ON"', () => led.received.length >= 1, 5_000, 10);
    await waitFor("the ON delivery logged", async () => (await commandLog("Wiped Lab")).delivered.length === 1, 10_000, 100);

    await worker.stop();
    rmSync(worker.persistDir, { recursive: true, force: true });
    mkdirSync(worker.persistDir);
    await worker.restart();
    await waitFor("reconnected in a new epoch", () => bridge.health().commands.connected && bridge.health().commands.epoch !== epoch, 30_000, 50);
    expect(bridge.health().commands.cursor).toBe(0);
    expect(bridge.metrics.commandEpochChanges.value()).toBe(1);

    await led.vote(0, 3); // a fresh location: the same seqs, the same id ~cmd-5
    await waitFor('"ON" in the new epoch', () => led.received.length >= 2, 15_000, 10);
    await settle();
    expect(received(led)).toEqual(["ON ~cmd-5", "ON ~cmd-5"]);
    await waitFor("the delivery logged in the new state", async () => (await commandLog("Wiped Lab")).delivered.length === 1, 10_000, 100);
  });
});
