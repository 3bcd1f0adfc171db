import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type Bridge } from "../../bridge/bridge";
import type { BridgeConfigInput } from "../../bridge/config";
import { createLogger } from "../../bridge/log";
import type { CommandDeliveredEvent, CommandIssuedEvent } from "../../protocol";
import { startSimulator, type ReceivedCommand } from "../../simulator/simulator";
import { createParts } from "../support/parts";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { startMosquitto, type Mosquitto } from "../support/mosquitto";
import { ROOT, scrape, startTestDevice, storedEvents, waitFor } from "./bridge-harness";

/**
 * The talk's "Actions" loop with every part real: a device publishes votes to
 * mosquitto, the bridge posts them to the worker under wrangler dev, the
 * location's rule issues a command, the commands hub pushes it over the
 * bridge's socket and the bridge publishes it to the device's devicebound topic.
 */

const parts = createParts();
let worker: LocalWorker;
let broker: Mosquitto;

beforeAll(async () => {
  [worker, broker] = await parts.startAll<[LocalWorker, Mosquitto]>([
    parts.start(startLocalWorker(), (w) => w.dispose()),
    parts.start(startMosquitto(), (b) => b.stop()),
  ]);
});
afterAll(() => parts.stopAll());

/** Bridges of the running test: each test stops its own (the hub hands commands to one bridge at a time). */
const bridgesOfTest: Bridge[] = [];
afterEach(async () => {
  for (const b of bridgesOfTest.splice(0)) await b.stop();
});

/** A device on its own MQTT connection (stopped with the test's parts). */
const testDevice = (id: string, location: string) => parts.start(startTestDevice(broker.url, id, location), (d) => d.client.endAsync());

function bridgeStarter(overrides: BridgeConfigInput = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), "actions-bridge-"));
  parts.add(async () => rmSync(stateDir, { recursive: true, force: true }));
  const clientId = `actions-bridge-${process.pid}-${randomUUID().slice(0, 6)}`;
  const logs: { msg: string; [k: string]: unknown }[] = [];
  return {
    logs,
    /** A bridge on the same state directory and MQTT session each time; resolves once it is subscribed. */
    async start(): Promise<Bridge> {
      const bridge = await parts.start(
        startBridge(
          {
            mqttUrl: broker.url,
            mqttClientId: clientId,
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
          { log: createLogger({ level: "info", write: (line) => logs.push(JSON.parse(line)) }) },
        ),
        (b) => b.stop(),
      );
      bridgesOfTest.push(bridge);
      await waitFor("the bridge to subscribe", () => bridge.health().ok, 10_000, 20);
      return bridge;
    },
  };
}

const commandLog = async (location: string) => {
  const events = await storedEvents(worker.url, location);
  return {
    issued: events.filter((e): e is CommandIssuedEvent => e.type === "command-issued"),
    delivered: events.filter((e): e is CommandDeliveredEvent => e.type === "command-delivered"),
  };
};

/** Gives a stray repeat time to show up: several reconnects' worth. */
const settle = () => new Promise((r) => setTimeout(r, 1_500));

describe("actions: votes → rule → command on the device's devicebound topic", () => {
  it('sad votes bring "ON" within 2 s and happy votes "OFF"; bridge restarts in between lose and repeat nothing', async () => {
    const location = "Actions-Led";
    const device = await testDevice("act-led-1", location);
    const bridges = bridgeStarter();
    let bridge = await bridges.start();

    const sadAt = await device.vote(0, 3);
    await waitFor('"ON"', () => device.received.length >= 1, 5_000, 10);
    const on = device.received[0]!;
    expect(on).toMatchObject({ topic: expect.stringMatching(/^devices\/act-led-1\/messages\/devicebound\/%24\.mid=~cmd-\d+$/), payload: "ON" });
    expect(on.at - sadAt, "from the third sad vote to the LED command, ms").toBeLessThan(2_000);
    await waitFor("the delivery reported", () => bridge.metrics.commandReports.value({ result: "recorded" }) === 1, 5_000, 20);

    // Restart on the same state directory: the delivered "ON" is not sent again.
    await bridge.stop();
    bridge = await bridges.start();
    await settle();
    expect(device.received).toHaveLength(1);

    const happyAt = await device.vote(1, 8); // 8 of 11 votes happy: 0.727, not below 0.7 any more
    await waitFor('"OFF"', () => device.received.length >= 2, 5_000, 10);
    const off = device.received[1]!;
    expect(off.payload).toBe("OFF");
    expect(off.at - happyAt, "from the last happy vote to the LED command, ms").toBeLessThan(2_000);

    // The bridge is down when the next votes arrive: they wait in mosquitto for its session; the command issued
    // once they are stored reaches the device after the restart.
    await waitFor("the OFF delivery reported", () => bridge.metrics.commandReports.value({ result: "recorded" }) === 1, 5_000, 20);
    await bridge.stop();
    await device.vote(0, 2); // 8 of 13: 0.615
    bridge = await bridges.start();
    await waitFor('"ON" again', () => device.received.length >= 3, 10_000, 10);
    await settle();

    expect(device.received.map((r) => r.payload)).toEqual(["ON", "OFF", "ON"]);
    const ids = device.received.map((r) => r.commandId);
    expect(new Set(ids).size, "each command id received exactly once").toBe(3);

    await waitFor("every delivery in the log", async () => (await commandLog(location)).delivered.length >= 3, 5_000, 50);
    const log = await commandLog(location);
    expect(log.issued.map((e) => [e.id, e.payload, e.deviceId])).toEqual([
      [ids[0], "ON", "act-led-1"],
      [ids[1], "OFF", "act-led-1"],
      [ids[2], "ON", "act-led-1"],
    ]);
    expect(log.delivered.map((e) => e.commandId), "one command-delivered per command").toEqual(ids);
    expect((await storedEvents(worker.url, location)).filter((e) => e.type === "reading")).toHaveLength(13);

    // What the bridge says about it.
    const delivered = bridges.logs.filter((l) => l.msg === "command delivered");
    expect(delivered.map((l) => [l.commandId, l.deviceId, l.payload, l.location])).toEqual(ids.map((id, i) => [id, "act-led-1", ["ON", "OFF", "ON"][i], location]));
    expect(bridge.health().commands).toMatchObject({ enabled: true, failures: 0, lastError: null, pendingReports: 0 });
    const metrics = await scrape(bridge.httpPort);
    expect(metrics.get("bridge_commands_published_total")).toBe(1); // this bridge's run: the last "ON"
    expect(metrics.get('bridge_command_deliveries_reported_total{result="recorded"}')).toBe(1);
    expect(metrics.get("bridge_commands_skipped_total")).toBe(0);
    expect(metrics.get("bridge_command_reports_pending")).toBe(0);
  });

  it("keeps trying while the worker is down, then delivers the command once", async () => {
    const location = "Actions-Outage";
    const device = await testDevice("act-outage-1", location);
    const bridge = await bridgeStarter().start();
    await waitFor("the commands socket", () => bridge.health().commands.connected, 5_000, 20);

    await worker.stop();
    try {
      await waitFor("failed reconnects", () => bridge.health().commands.failures >= 2, 10_000, 20);
      expect(bridge.health().commands.connected).toBe(false);
      expect(bridge.health().commands.lastError).toMatch(/^connect ws:\/\/127\.0\.0\.1:\d+\/api\/v1\/commands\/live: ECONNREFUSED/);
      await device.vote(0, 3); // spooled by the bridge while the worker is away
      await settle();
      expect(device.received).toEqual([]);
    } finally {
      await worker.restart();
    }

    await waitFor('"ON" after the worker is back', () => device.received.length >= 1, 30_000, 20);
    await waitFor("the relay connected again", () => bridge.health().commands.failures === 0 && bridge.health().commands.connected, 10_000, 20);
    await settle();
    expect(device.received.map((r) => r.payload)).toEqual(["ON"]);
    expect(bridge.metrics.commandFeedFailures.value()).toBeGreaterThanOrEqual(2);
    expect((await scrape(bridge.httpPort)).get("bridge_command_feed_last_error_timestamp_seconds")).toBeGreaterThan(0);
    await waitFor("the delivery in the log", async () => (await commandLog(location)).delivered.length === 1, 5_000, 50);
    const log = await commandLog(location);
    expect(log.delivered.map((e) => e.commandId)).toEqual([device.received[0]!.commandId]);
    expect(log.issued).toHaveLength(1);
  });

  it("npm run press lights a simulated device's LED, and says why when no command follows", async () => {
    await bridgeStarter().start();
    const simLog: { msg: string; [k: string]: unknown }[] = [];
    const commands: ReceivedCommand[] = [];
    const simulator = await parts.start(
      startSimulator(
        { mqttUrl: broker.url, devices: "1", locations: "Press-Lab", devicePrefix: "act", rate: "0.001", voteShare: "0", seed: "1" },
        { log: createLogger({ level: "info", write: (line) => simLog.push(JSON.parse(line)) }), onCommand: (c) => commands.push(c) },
      ),
      (s) => s.stop(),
    );
    const device = simulator.devices[0]!.id;
    expect(device).toBe("act-press-lab-1");

    const press = (...args: string[]) => runPress([...args, "--device", device, "--location", "Press-Lab", "--mqtt-url", broker.url, "--api-url", worker.url]);
    const sad = await press("sad");
    expect(sad.code, sad.output).toBe(0);
    expect(sad.output).toContain(`${device} pressed sad 3 times (location Press-Lab`);
    const shown = /act-press-lab-1 LED ON \(command (~cmd-\d+)\)/.exec(sad.output);
    expect(shown, sad.output).not.toBeNull();
    await waitFor("the simulator's LED", () => commands.length >= 1, 5_000, 20);
    expect(simLog.map((l) => l.msg)).toContain(`act-press-lab-1 LED ON (command ${shown![1]})`);

    const notYet = await press("happy", "--wait", "2");
    expect(notYet.output).toContain(`${device} pressed happy 3 times`);
    expect(notYet.output).toMatch(/No command for act-press-lab-1 within 2 s\. Its alert \(rule low-score\) has been raised since /);

    const off = await press("happy", "--times", "5"); // 8 of 11
    expect(off.output).toMatch(/act-press-lab-1 LED OFF \(command ~cmd-\d+\)/);
    await waitFor("the simulator's LED off", () => commands.length >= 2, 5_000, 20);
    expect(commands.map((c) => c.payload)).toEqual(["ON", "OFF"]);
    expect(simulator.stats()).toMatchObject({ commands: 2, repeatedCommands: 0 });

    const bad = await runPress(["loud", "--device", device]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("--button: must be happy, neutral or sad");
  });
});

/** `npm run press -- …` as a user runs it (tsx simulator/press.ts). */
function runPress(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(resolve(ROOT, "node_modules/.bin/tsx"), ["simulator/press.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("exit", (code) => done({ code, output }));
  });
}
