import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type Bridge } from "../../bridge/bridge";
import { createLogger } from "../../bridge/log";
import { parseTelemetryTopic, type LogEvent, type ReadingEvent } from "../../protocol";
import { deviceList, routesFor, startSimulator, type SimulatedDevice, type Simulator } from "../../simulator/simulator";
import { launchBrowser, watchPage } from "../support/browser";
import { openLive, type LiveClient } from "../support/live-client";
import { createParts } from "../support/parts";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { startMosquitto, type Mosquitto } from "../support/mosquitto";
import { storedEvents, waitFor } from "./bridge-harness";

/**
 * The product end to end, every part real: simulated devices publish to
 * Debian's mosquitto; the bridge (in process, its own state directory) spools
 * their messages and posts them to the worker under wrangler dev; a plain
 * WebSocket client and Chromium watch both locations live. What reaches the
 * log, the live stream and the page is checked against what was published,
 * computed here without the system's help.
 */

const LOCATIONS = ["E2E-MTC", "E2E-Paoli"] as const;

interface Published {
  deviceId: string;
  location: string;
  /** `$.mid`; absent for the original device's messages (the bridge assigns an id). */
  mid: string | undefined;
  unit: "C" | "F";
  body: { vote?: number; temperature: number; humidity: number; ts?: string };
  topic: string;
  payload: string;
}

/** Everything started, stopped in afterAll even when a step failed. */
const parts = createParts();

let broker: Mosquitto;
let worker: LocalWorker;
let browser: Browser;
let bridge: Bridge;
const bridgeLog: string[] = [];
const live = new Map<string, LiveClient>();
const pages = new Map<string, { page: Page; seen: ReturnType<typeof watchPage> }>();
const published: Published[] = [];
/** Messages sent a second time with the same `$.mid`, as a device does when it missed a PUBACK. */
let redelivered: Published[] = [];
let streamStartedAt = 0;
let streamEndedAt = 0;

/** Records each message a simulator publishes, from its own debug log line ("published", with topic and body). */
function publishedRecorder(devices: readonly SimulatedDevice[], unit: "C" | "F"): (line: string) => void {
  const locationOf = new Map(devices.map((d) => [d.id, d.location]));
  return (line) => {
    const entry = JSON.parse(line) as { msg: string; deviceId?: string; topic?: string; body?: string };
    if (entry.msg !== "published") return;
    const topic = parseTelemetryTopic(entry.topic!);
    published.push({
      deviceId: entry.deviceId!,
      location: (topic.ok ? topic.topic.bag.location : undefined) ?? locationOf.get(entry.deviceId!)!,
      mid: topic.ok ? topic.topic.bag["$.mid"] : undefined,
      unit,
      body: JSON.parse(entry.body!) as Published["body"],
      topic: entry.topic!,
      payload: entry.body!,
    });
  };
}

function simulate(options: { prefix: string; mode: "azure" | "original"; devices: number; rate: number; count: number; seed: number }): Promise<Simulator> {
  const devices = deviceList(options.prefix, LOCATIONS, options.devices);
  const log = createLogger({ level: "debug", write: publishedRecorder(devices, options.mode === "original" ? "F" : "C") });
  return parts.start(
    startSimulator(
      {
        mqttUrl: broker.url,
        mode: options.mode,
        devicePrefix: options.prefix,
        locations: LOCATIONS.join(","),
        devices: String(options.devices),
        rate: String(options.rate),
        count: String(options.count),
        seed: String(options.seed),
        listenCommands: "false",
      },
      { log },
    ),
    (s) => s.stop(),
  );
}

/** A device resending a message it already sent (same topic, same `$.mid`, DUP set), QoS 1. */
async function redeliver(messages: readonly Published[]): Promise<void> {
  const client = await mqtt.connectAsync(broker.url, { clientId: `e2e-redeliver-${process.pid}`, reconnectPeriod: 0 });
  try {
    for (const m of messages) await client.publishAsync(m.topic, m.payload, { qos: 1, dup: true });
  } finally {
    await client.endAsync();
  }
}

beforeAll(async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "e2e-bridge-"));
  parts.add(async () => rmSync(stateDir, { recursive: true, force: true }));
  [broker, worker, browser] = await parts.startAll<[Mosquitto, LocalWorker, Browser]>([
    parts.start(startMosquitto(), (b) => b.stop()),
    parts.start(startLocalWorker(), (w) => w.dispose()),
    parts.start(launchBrowser(), (b) => b.close()),
  ]);

  // The original devices send °F and name no location: the bridge's routes say where they are.
  const routesFile = join(stateDir, "routes.json");
  writeFileSync(routesFile, JSON.stringify(routesFor({ devicePrefix: "orig", locations: [...LOCATIONS], mode: "original" })));
  bridge = await parts.start(
    startBridge(
      {
        mqttUrl: broker.url,
        mqttClientId: `e2e-bridge-${process.pid}`,
        ingestUrl: `${worker.url}/api/v1/ingest`,
        ingestToken: worker.ingestToken,
        stateDir,
        routesFile,
        httpPort: 0,
      },
      { log: createLogger({ level: "warn", write: (line) => bridgeLog.push(line) }) },
    ),
    (b) => b.stop(),
  );
  await waitFor("the bridge subscribed", () => bridge.health().ok, 10_000);

  // Watchers first: they must see the whole stream live, from an empty location.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  for (const location of LOCATIONS) {
    live.set(location, await parts.start(openLive(worker.url, location), (c) => c.close()));
    const page = await context.newPage();
    const seen = watchPage(page);
    await page.goto(`${worker.url}/locations/${encodeURIComponent(location)}`);
    await page.locator('.page-head [data-connection="live"]').waitFor({ timeout: 10_000 });
    pages.set(location, { page, seen });
  }

  // About five seconds of traffic: IoT Hub-style devices (°C, `$.mid`, `ts`) and the original device's exact messages, side by side.
  streamStartedAt = Date.now();
  const simulators = await Promise.all([
    simulate({ prefix: "az", mode: "azure", devices: 6, rate: 80, count: 400, seed: 5 }),
    simulate({ prefix: "orig", mode: "original", devices: 2, rate: 16, count: 80, seed: 6 }),
  ]);
  await Promise.all(simulators.map((s) => s.finished));
  await Promise.all(simulators.map((s) => s.stop()));
  for (const s of simulators) expect(s.stats().acknowledged, "every publish acknowledged by the broker").toBe(s.stats().published);
  const withMid = published.filter((m) => m.mid !== undefined);
  // One long stored, one from the middle, and the last (likely still on its way).
  redelivered = [withMid[7]!, withMid[150]!, withMid.at(-1)!];
  await redeliver(redelivered);
  streamEndedAt = Date.now();

  // Everything the broker delivered is in the bridge's outbox, then acknowledged by the worker.
  const total = published.length + redelivered.length;
  await waitFor(`the bridge to take ${total} messages and drain`, () => bridge.metrics.received.value() === total && bridge.health().outbox.depth === 0, 30_000).catch(
    (e: Error) => {
      throw new Error(`${e.message}; the bridge logged:\n${bridgeLog.join("\n")}`);
    },
  );
}, 120_000);

afterAll(() => parts.stopAll());

const publishedAt = (location: string) => published.filter((m) => m.location === location);
const isReading = (e: LogEvent): e is ReadingEvent => e.type === "reading";
const fahrenheit = (celsius: number) => Math.round((celsius * 9 / 5 + 32) * 10) / 10;
/** Content of a message without an id: what the device said, as it said it (°F). */
const contentKey = (deviceId: string, vote: number | undefined, temperatureF: number | undefined, humidity: number | undefined) =>
  JSON.stringify([deviceId, vote ?? null, temperatureF ?? null, humidity ?? null]);
const tally = (keys: string[]) => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());

describe("end to end: simulator → mosquitto → bridge → worker → live socket and Chromium", () => {
  it("published a real mix: both locations, both message forms, redeliveries that reached the worker", () => {
    for (const location of LOCATIONS) {
      expect(publishedAt(location).filter((m) => m.mid !== undefined).length).toBeGreaterThan(100);
      expect(publishedAt(location).filter((m) => m.mid === undefined).length).toBeGreaterThan(20);
    }
    expect(new Set(published.map((m) => m.mid).filter(Boolean)).size).toBe(published.filter((m) => m.mid).length);
    expect(bridge.metrics.spooled.value()).toBe(published.length + redelivered.length);
    expect(bridge.metrics.duplicates.value()).toBeGreaterThanOrEqual(redelivered.length);
    expect(bridge.metrics.deadLettered.value()).toBe(0);
  });

  it("stores every published message exactly once in the event log", async () => {
    for (const location of LOCATIONS) {
      const sent = publishedAt(location);
      const readings = (await storedEvents(worker.url, location)).filter(isReading);
      expect(readings.length).toBe(sent.length);

      // Messages with `$.mid` are stored under that id, once, as sent.
      const byId = new Map(readings.map((r) => [r.id, r]));
      expect(byId.size).toBe(readings.length);
      for (const m of sent.filter((m) => m.mid !== undefined)) {
        expect(byId.get(m.mid!), m.mid).toMatchObject({
          deviceId: m.deviceId,
          occurredAt: new Date(m.body.ts!).toISOString(),
          temperature: m.body.temperature,
          humidity: m.body.humidity,
          ...(m.body.vote === undefined ? {} : { vote: m.body.vote }),
        });
        if (m.body.vote === undefined) expect(byId.get(m.mid!)!.vote).toBeUndefined();
      }

      // The original device's messages carry no id: compare what was said (°F back from the stored °C) as a multiset.
      const mids = new Set(sent.map((m) => m.mid));
      const assigned = readings.filter((r) => !mids.has(r.id));
      const original = sent.filter((m) => m.mid === undefined);
      expect(tally(assigned.map((r) => contentKey(r.deviceId, r.vote, r.temperature === undefined ? undefined : fahrenheit(r.temperature), r.humidity)))).toEqual(
        tally(original.map((m) => contentKey(m.deviceId, m.body.vote, m.body.temperature, m.body.humidity))),
      );
      // They occurred when the bridge received them.
      for (const r of assigned) {
        expect(Date.parse(r.occurredAt)).toBeGreaterThanOrEqual(streamStartedAt - 1_000);
        expect(Date.parse(r.occurredAt)).toBeLessThanOrEqual(streamEndedAt);
      }
    }
  });

  it("streams every log entry exactly once, in seq order with no gap, to a live socket that connected before the first", async () => {
    for (const location of LOCATIONS) {
      const log = await storedEvents(worker.url, location);
      const client = live.get(location)!;
      await waitFor(`${location}'s live stream to reach seq ${log.at(-1)!.seq}`, () => (client.events.at(-1)?.seq ?? 0) >= log.at(-1)!.seq, 10_000);
      expect(client.problems).toEqual([]);
      expect(client.closedWith).toBeNull();
      expect(client.snapshot.head).toBe(0);
      // Readings and whatever the default rule added (alerts, commands): the same entries as the log, each once.
      expect(client.events.slice(0, log.length).map((e) => [e.seq, e.id, e.type])).toEqual(log.map((e) => [e.seq, e.id, e.type]));
      // Since then only the bridge's delivery reports of those commands may have come, still without a gap.
      expect(client.events.map((e) => e.seq)).toEqual(client.events.map((_, i) => i + 1));
      expect(client.events.slice(log.length).filter((e) => e.type !== "command-delivered")).toEqual([]);
      expect(client.events.filter(isReading).length).toBe(publishedAt(location).length);
    }
  });

  it("shows on each location page the score, votes, devices and climate computed from what was published", async () => {
    for (const location of LOCATIONS) {
      const sent = publishedAt(location);
      const votes = sent.flatMap((m) => (m.body.vote === undefined ? [] : [m.body.vote]));
      const celsius = sent.map((m) => (m.unit === "F" ? ((m.body.temperature - 32) * 5) / 9 : m.body.temperature));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const expected = {
        score: (mean(votes)).toFixed(2),
        votes: votes.length.toLocaleString("en"),
        devices: String(new Set(sent.map((m) => m.deviceId)).size),
        temperature: mean(celsius),
        humidity: mean(sent.map((m) => m.body.humidity)),
      };
      expect(votes.length).toBeGreaterThan(0);

      const { page, seen } = pages.get(location)!;
      const figure = (name: string) => page.locator(`.score [data-figure="${name}"]`).textContent();
      await expect.poll(() => figure("votes"), { timeout: 10_000 }).toBe(expected.votes);
      expect(await figure("score")).toBe(expected.score);
      expect(await figure("devices")).toBe(expected.devices);
      // One decimal on the page; the bridge keeps °C to a thousandth: within half the last digit shown, and that thousandth.
      expect(Math.abs(parseFloat((await figure("temperature"))!) - expected.temperature)).toBeLessThanOrEqual(0.0505);
      expect(await figure("temperature")).toMatch(/ °C$/);
      expect(Math.abs(parseFloat((await figure("humidity"))!) - expected.humidity)).toBeLessThanOrEqual(0.0505);

      // The VOTES table holds the 50 newest votes of the log, each once (readings without a vote are climate reports).
      const newest = (await storedEvents(worker.url, location)).filter((e) => isReading(e) && e.vote !== undefined).slice(-50).map((r) => r.id);
      const rows = await page.$$eval("tbody tr[data-event-id]", (trs) => trs.map((tr) => tr.getAttribute("data-event-id")!));
      expect([...rows].sort()).toEqual([...newest].sort());
      expect(seen.errors).toEqual([]);
    }
  });
});
