import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type Bridge } from "../../bridge/bridge";
import type { BridgeConfigInput } from "../../bridge/config";
import { createLogger } from "../../bridge/log";
import { parseSimulatorOptions } from "../../simulator/options";
import { routesFor, startSimulator, type ReceivedCommand } from "../../simulator/simulator";
import { startAedes, type AedesBroker } from "../support/aedes";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { deadLetters, publishAll, scrape, storedReadings, storedIds, telemetry, waitFor, type TestMessage } from "./bridge-harness";

/**
 * The bridge in-process against an in-process aedes broker (MQTT 3.1.1) and
 * the real worker under wrangler dev.
 */
describe("bridge: aedes → bridge → worker", () => {
  let worker: LocalWorker;
  let broker: AedesBroker;
  const running: Bridge[] = [];
  let logs: string[] = [];

  beforeAll(async () => {
    [worker, broker] = await Promise.all([startLocalWorker(), startAedes()]);
  });
  afterEach(async () => {
    for (const b of running.splice(0)) await b.stop();
    logs = [];
  });
  afterAll(async () => {
    await broker?.stop();
    await worker?.dispose();
  });

  let n = 0;
  const start = async (over: BridgeConfigInput = {}): Promise<Bridge> => {
    const bridge = await startBridge(
      {
        mqttUrl: broker.url,
        ingestUrl: `${worker.url}/api/v1/ingest`,
        ingestToken: worker.ingestToken,
        stateDir: mkdtempSync(join(tmpdir(), "bridge-aedes-")),
        mqttClientId: `bridge-aedes-${process.pid}-${++n}`,
        httpPort: 0,
        retryMinMs: 100,
        retryMaxMs: 1_000,
        mqttReconnectMinMs: 100,
        mqttReconnectMaxMs: 1_000,
        ...over,
      },
      { log: createLogger({ level: "info", write: (l) => logs.push(l) }) },
    );
    running.push(bridge);
    await waitFor("the bridge to subscribe", () => bridge.health().ok, 10_000);
    return bridge;
  };
  const stop = async (bridge: Bridge) => {
    running.splice(running.indexOf(bridge), 1);
    return bridge.stop();
  };

  it("stores a $.mid published three times once", async () => {
    const bridge = await start();
    const m = telemetry("dup-device", "dup-mid-1", "Dup")
    await publishAll(broker.url, [m, m, m]);
    await waitFor("3 acknowledgements", () => bridge.metrics.acknowledged.value() + bridge.metrics.duplicates.value() === 3);
    const events = await storedReadings(worker.url, "Dup");
    expect(events.map((e) => e.id)).toEqual(["dup-mid-1"]);
    expect(bridge.metrics.acknowledged.value()).toBe(1);
    expect(bridge.metrics.duplicates.value()).toBe(2);
  });

  it("dead-letters poison messages with their reason, counts them, keeps running and stores later good ones", async () => {
    const bridge = await start();
    const topic = "devices/p1/messages/events/location=Poison";
    const poison: TestMessage[] = [
      { topic, payload: "not json" },
      { topic, payload: '{"vote":2}' },
      { topic, payload: '{"humidity":"wet"}' },
      { topic, payload: JSON.stringify({ vote: 1, pad: "x".repeat(1024 * 1024) }) },
      { topic, payload: "" },
      { topic: "devices/p1/messages/events/location=Poison/extra", payload: '{"vote":1}' },
    ];
    const good = [telemetry("p1", "after-poison-1", "Poison"), telemetry("p2", "after-poison-2", "Poison")];
    await publishAll(broker.url, [...poison, ...good]);
    await waitFor("good messages stored", async () => (await storedReadings(worker.url, "Poison")).length === 2);

    expect((await storedReadings(worker.url, "Poison")).map((e) => e.id).sort()).toEqual(["after-poison-1", "after-poison-2"]);
    const letters = deadLetters(bridge.deadLetterPath);
    expect(letters.map((l) => l.reason)).toEqual(["json", "body", "body", "too-large", "empty", "topic"]);
    expect(letters[1]!.errors).toEqual(["vote: vote must be exactly 0, 0.5 or 1"]);
    expect(letters[2]!.errors).toEqual(["humidity: humidity must be a finite number (%)"]);
    expect(letters[3]!.errors[0]).toMatch(/limit is 65536/);
    expect(letters[5]!.source).toEqual({ topic: "devices/p1/messages/events/location=Poison/extra" });
    const metrics = await scrape(bridge.httpPort);
    expect(metrics.get('bridge_dead_letters_total{reason="body"}')).toBe(2);
    expect(metrics.get('bridge_dead_letters_total{reason="topic"}')).toBe(1);
    expect(metrics.get("bridge_messages_received_total")).toBe(8);
    expect(metrics.get("bridge_events_spooled_total")).toBe(2);
    expect(bridge.health().ok).toBe(true);
  });

  it("stores 10,000 messages with $.mid, each once, while the worker is unreachable for a stretch in the middle", async () => {
    // A small outbox, so the outage also fills it: the bridge stops acknowledging, then has the broker redeliver.
    const bridge = await start({ batchLingerMs: 20, outboxMaxEvents: 1_500 });
    const locations = ["Outage-MTC", "Outage-Malvern", "Outage-Paoli"];
    const messages = Array.from({ length: 10_000 }, (_, i) => telemetry(`dev-${i % 25}`, `outage-${i}`, locations[i % 3]!, { vote: [0, 0.5, 1][i % 3], humidity: 40 + (i % 20) }));
    let outage: Promise<void> | undefined;
    let stoppedAtDepth = -1;
    await publishAll(broker.url, messages, {
      perSecond: 2_000,
      onProgress: (acked) => {
        if (acked === 3_000) {
          outage = (async () => {
            await worker.stop();
            stoppedAtDepth = bridge.metrics.acknowledged.value();
            await new Promise((r) => setTimeout(r, 2_000));
            await worker.restart();
          })();
        }
      },
    });
    await outage;
    await waitFor("all 10,000 acknowledged", () => bridge.metrics.acknowledged.value() + bridge.metrics.duplicates.value() >= 10_000, 90_000, 250);
    await waitFor("the outbox to empty", () => bridge.health().outbox.depth === 0);

    const ids = await storedIds(worker.url, locations);
    expect(ids.size).toBe(10_000);
    expect([...ids.values()].every((count) => count === 1)).toBe(true);
    expect(messages.every((_, i) => ids.has(`outage-${i}`))).toBe(true);
    // The outage really happened mid-stream: sends failed and were retried.
    expect(stoppedAtDepth).toBeGreaterThan(0);
    expect(stoppedAtDepth).toBeLessThan(10_000);
    expect(bridge.metrics.requests.value({ status: "error" })).toBeGreaterThan(0);
    expect(bridge.metrics.deferred.value()).toBeGreaterThan(0);
    expect(logs.some((l) => l.includes("reconnecting for the broker to redeliver"))).toBe(true);
    expect(bridge.metrics.deadLettered.value()).toBe(0);
  });

  it("with a full outbox stops acknowledging (the broker keeps the backlog); a wrong token loses nothing", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "bridge-aedes-full-"));
    const mqttClientId = `bridge-aedes-full-${process.pid}`;
    const first = await start({ stateDir, mqttClientId, ingestToken: "wrong-token", outboxMaxEvents: 100, shutdownTimeoutMs: 200 });
    const messages = Array.from({ length: 500 }, (_, i) => telemetry(`full-${i % 5}`, `full-${i}`, "Full"));
    await publishAll(broker.url, messages);
    await waitFor("the outbox to fill and deferrals", () => first.metrics.deferred.value() > 0 && first.health().outbox.full);
    expect(first.health().outbox.depth).toBe(100);
    expect(first.metrics.spooled.value()).toBe(100);
    await waitFor("a 401", () => first.metrics.requests.value({ status: "401" }) > 0);
    expect(logs.some((l) => l.includes('"level":"error"') && l.includes("INGEST_TOKEN"))).toBe(true);
    expect(await storedReadings(worker.url, "Full")).toEqual([]);
    expect((await stop(first)).depth).toBe(100);

    // Same state directory and session, right token: the outbox is sent and the broker redelivers the rest.
    const second = await start({ stateDir, mqttClientId });
    await waitFor("all 500 stored", async () => (await storedReadings(worker.url, "Full")).length >= 500, 60_000, 250);
    const ids = await storedIds(worker.url, ["Full"]);
    expect(ids.size).toBe(500);
    expect([...ids.values()].every((c) => c === 1)).toBe(true);
    expect(second.health().outbox.depth).toBe(0);
  });

  it("stores what simulated devices send in both modes; a simulated device logs the command sent to its devicebound topic", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bridge-sim-"));
    const routesFile = join(dir, "routes.json");
    writeFileSync(routesFile, JSON.stringify(routesFor(parseSimulatorOptions({ mode: "original", devicePrefix: "orig", locations: "Sim-A" }))));
    await start({ routesFile });
    const quiet = createLogger({ level: "error", write: () => {} });
    const commands: ReceivedCommand[] = [];
    // Votes stay rare (the quiet site's share), so the default rule sends these devices no command of its own.
    const azure = await startSimulator({ mqttUrl: broker.url, rate: 300, count: 60, locations: "Sim-A,Sim-B", devices: 4, seed: 1, voteShare: "0.01" }, { log: quiet, onCommand: (c) => commands.push(c) });
    const original = await startSimulator({ mqttUrl: broker.url, rate: 300, count: 20, mode: "original", devicePrefix: "orig", locations: "Sim-A", devices: 2 }, { log: quiet });
    await Promise.all([azure.finished, original.finished]);
    await publishAll(broker.url, [{ topic: "devices/sim-sim-a-1/messages/devicebound/", payload: "ON" }]);
    await waitFor("the command", () => commands.length === 1, 10_000);
    expect(commands).toEqual([{ deviceId: "sim-sim-a-1", topic: "devices/sim-sim-a-1/messages/devicebound/", payload: "ON" }]);
    await Promise.all([azure.stop(), original.stop()]);
    expect(azure.stats()).toMatchObject({ published: 60, acknowledged: 60, commands: 1 });

    await waitFor("80 readings stored", async () => (await storedIds(worker.url, ["Sim-A", "Sim-B"])).size === 80);
    const fromOriginal = (await storedReadings(worker.url, "Sim-A")).filter((e) => e.deviceId.startsWith("orig-"));
    expect(fromOriginal).toHaveLength(20);
    for (const e of fromOriginal) {
      expect(e.temperature).toBeGreaterThan(10); // °F converted: a room, not 70 °C
      expect(e.temperature).toBeLessThan(35);
      expect(e.vote).not.toBeUndefined();
    }
  });

  it("a proxy answering 400 pages in front of the worker: retried, shown on /healthz and /metrics, nothing dead-lettered, all stored once", async () => {
    // What a WAF or a misrouted INGEST_URL answers: an HTML 400, then a JSON 413 that is not the worker's error body.
    let foreign = 6;
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (foreign > 0) {
        foreign--;
        if (foreign % 2) return void res.writeHead(400, { "content-type": "text/html" }).end("<html><body><h1>400 Bad Request</h1></body></html>");
        return void res.writeHead(413, { "content-type": "application/json" }).end('{"message":"Request Entity Too Large"}');
      }
      const upstream = await fetch(`${worker.url}${req.url}`, { method: "POST", headers: { authorization: req.headers.authorization ?? "", "content-type": "application/json" }, body: Buffer.concat(chunks) });
      res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    try {
      // Commands off: their feed would go through the proxy too.
      const bridge = await start({ ingestUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/ingest`, commandsEnabled: false, retryMinMs: 20, retryMaxMs: 50 });
      const messages = Array.from({ length: 50 }, (_, i) => telemetry(`proxy-${i % 5}`, `proxy-${i}`, "Proxied"));
      await publishAll(broker.url, messages);
      await waitFor("all 50 stored", async () => (await storedIds(worker.url, ["Proxied"])).size === 50, 30_000, 100);
      expect([...(await storedIds(worker.url, ["Proxied"])).values()].every((c) => c === 1)).toBe(true);
      expect(deadLetters(bridge.deadLetterPath)).toEqual([]);
      const health = (await (await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`)).json()) as ReturnType<Bridge["health"]>;
      expect(health.sender.unrecognised).toBe(6);
      expect(health.sender.lastUnrecognised).toBe('HTTP 413 (not the worker\'s error body): {"message":"Request Entity Too Large"}');
      const metrics = await scrape(bridge.httpPort);
      expect(metrics.get('bridge_ingest_unrecognised_responses_total{status="400"}')).toBe(3);
      expect(metrics.get('bridge_ingest_unrecognised_responses_total{status="413"}')).toBe(3);
      expect([...metrics].filter(([k, v]) => k.startsWith("bridge_dead_letters_total") && v !== 0)).toEqual([]);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });
});
