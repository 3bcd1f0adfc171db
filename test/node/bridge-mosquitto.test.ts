import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type Bridge, type Health } from "../../bridge/bridge";
import { createLogger } from "../../bridge/log";
import { freePort } from "../support/free-port";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { makeTestPki, startMosquitto, type Mosquitto, type TestPki } from "../support/mosquitto";
import {
  publishAll,
  scrape,
  spawnBridge,
  storedIds,
  storedReadings,
  telemetry,
  waitFor,
  waitHealthy,
  type BridgeProcess,
} from "./bridge-harness";

/**
 * The bridge against Debian's mosquitto and the real worker under wrangler
 * dev; the CLI runs as a child process (as a user runs it), so it can be
 * killed with SIGKILL.
 */
describe("bridge: mosquitto → bridge → worker", () => {
  let worker: LocalWorker;
  let broker: Mosquitto;
  let pki: TestPki;
  const children: BridgeProcess[] = [];
  const inProcess: Bridge[] = [];

  beforeAll(async () => {
    pki = makeTestPki(mkdtempSync(join(tmpdir(), "bridge-pki-")));
    [worker, broker] = await Promise.all([
      startLocalWorker(),
      startMosquitto({ tls: { caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, requireCertificate: true } }),
    ]);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    for (const b of inProcess.splice(0)) await b.stop();
  });
  afterAll(async () => {
    await broker?.stop();
    await worker?.dispose();
  });

  /** Environment of a CLI bridge; its state dir and client id are fresh unless given. */
  const env = async (over: Record<string, string> = {}) => ({
    MQTT_URL: broker.url,
    INGEST_URL: `${worker.url}/api/v1/ingest`,
    INGEST_TOKEN: worker.ingestToken,
    BRIDGE_STATE_DIR: mkdtempSync(join(tmpdir(), "bridge-mosq-")),
    MQTT_CLIENT_ID: `bridge-mosq-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    BRIDGE_HTTP_PORT: String(await freePort()),
    RETRY_MIN_MS: "100",
    RETRY_MAX_MS: "1000",
    MQTT_RECONNECT_MIN_MS: "100",
    MQTT_RECONNECT_MAX_MS: "1000",
    ...over,
  });
  const run = async (e: Record<string, string>, args: string[] = []) => {
    const child = spawnBridge(e, args);
    children.push(child);
    await waitHealthy(Number(e.BRIDGE_HTTP_PORT), child);
    return child;
  };

  it("works as a new user tries it: happy-hub-bridge with a routes file, mosquitto_pub, events in the API", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bridge-newuser-"));
    const routes = join(dir, "routes.json");
    writeFileSync(routes, JSON.stringify({ routes: [{ pattern: "arduino.*", location: "Newuser-Paoli", temperatureUnit: "F" }] }));
    const e = await env({ ROUTES_FILE: routes, LOG_LEVEL: "info" });
    const bridge = await run(e);
    const pub = (topic: string, message: string) =>
      execFileSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(broker.port), "-q", "1", "-t", topic, "-m", message]);
    // The original device's exact body (°F, no message id, no timestamp) and an Azure-style message.
    pub("devices/arduino1010/messages/events/", '{"temperature":78.4,"humidity":34.1,"vote":0.5,"device":"arduino1010"}');
    pub("devices/sensor-7/messages/events/%24.mid=newuser-1&location=Newuser-MTC", '{"vote":1,"temperature":21.5,"ts":"2025-01-15T12:00:00Z"}');

    await waitFor("both stored", async () => (await storedReadings(worker.url, "Newuser-Paoli")).length === 1 && (await storedReadings(worker.url, "Newuser-MTC")).length === 1);
    const [original] = await storedReadings(worker.url, "Newuser-Paoli");
    expect(original).toMatchObject({ type: "reading", deviceId: "arduino1010", vote: 0.5, temperature: 25.778, humidity: 34.1 });
    expect(original!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/); // a UUIDv7 assigned on receipt
    const [azure] = await storedReadings(worker.url, "Newuser-MTC");
    expect(azure).toMatchObject({ id: "newuser-1", deviceId: "sensor-7", vote: 1, temperature: 21.5, occurredAt: "2025-01-15T12:00:00.000Z" });

    const health = await (await fetch(`http://127.0.0.1:${e.BRIDGE_HTTP_PORT}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, source: { kind: "mqtt", connected: true }, outbox: { depth: 0 } });
    const lines = bridge.output().trim().split("\n").map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines.every((l) => ["debug", "info", "warn", "error"].includes(l.level))).toBe(true);
    expect(lines.map((l) => l.msg)).toContain("bridge started");
    expect(bridge.output()).not.toContain(worker.ingestToken);

    expect(await bridge.kill("SIGTERM")).toEqual({ code: 0, signal: null });
  });

  it("refuses bad configuration at start-up with a message naming the option; --help lists every option", async () => {
    const bad = spawnBridge(await env({ BATCH_MAX_EVENTS: "lots", MQTT_PROTOCOL_VERSION: "6" }));
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain("BATCH_MAX_EVENTS (--batch-max-events): must be an integer");
    expect(bad.output()).toContain("MQTT_PROTOCOL_VERSION (--mqtt-protocol-version): must be 3.1.1 or 5");
    const missing = spawnBridge({ BRIDGE_HTTP_PORT: "0" });
    expect((await missing.exited).code).toBe(2);
    expect(missing.output()).toContain("INGEST_TOKEN (--ingest-token): is required");
    const help = spawnBridge({}, ["--help"]);
    expect((await help.exited).code).toBe(0);
    expect(help.output()).toContain("--mqtt-url <value>  MQTT_URL  (default: mqtt://127.0.0.1:1883)");
    expect(help.output()).toContain("--bridge-state-dir <value>  BRIDGE_STATE_DIR");
  });

  it("on SIGTERM stops taking messages, sends what it spooled and exits 0 within the bound; the broker keeps the rest for the session", async () => {
    const e = await env({ SHUTDOWN_TIMEOUT_MS: "5000" });
    const messages = Array.from({ length: 3_000 }, (_, i) => telemetry(`term-${i % 10}`, `term-${i}`, "Term"));
    let bridge = await run(e);
    let signalled: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
    let signalledAt = 0;
    await publishAll(broker.url, messages.slice(0, 2_000), {
      perSecond: 3_000,
      onProgress: (acked) => {
        if (acked === 1_000) {
          signalledAt = Date.now();
          signalled = bridge.kill("SIGTERM");
        }
      },
    });
    expect(await signalled).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(5_000 + 3_000);
    const log = bridge.output().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { msg: string });
    expect(log.find((l) => l.msg === "stopped")).toMatchObject({ drained: true, outboxDepth: 0 });
    expect((await storedIds(worker.url, ["Term"])).size).toBeGreaterThan(0);

    // While it is away the broker queues for its persistent session; the next start takes everything.
    await publishAll(broker.url, messages.slice(2_000));
    bridge = await run(e);
    await waitFor("all 3,000 stored", async () => (await storedIds(worker.url, ["Term"])).size === 3_000, 60_000, 250);
    const ids = await storedIds(worker.url, ["Term"]);
    expect([...ids.values()].every((c) => c === 1)).toBe(true);
  });

  it("killed with SIGKILL mid-stream and restarted (MQTT 5 session): no loss, no duplicate", async () => {
    const e = await env({ MQTT_PROTOCOL_VERSION: "5", BATCH_LINGER_MS: "50" });
    const locations = ["Kill-MTC", "Kill-Malvern", "Kill-Paoli"];
    const messages = Array.from({ length: 6_000 }, (_, i) => telemetry(`kill-${i % 30}`, `kill-${i}`, locations[i % 3]!, { vote: [0, 0.5, 1][i % 3], temperature: 20 + (i % 7) }));
    let bridge = await run(e);
    let restarted: Promise<void> | undefined;
    await publishAll(broker.url, messages, {
      perSecond: 2_000,
      protocolVersion: 5,
      onProgress: (acked) => {
        if (acked === 2_500) {
          restarted = (async () => {
            expect(await bridge.kill("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
            await new Promise((r) => setTimeout(r, 500));
            bridge = await run(e);
          })();
        }
      },
    });
    await restarted;
    await waitFor("all 6,000 stored", async () => {
      const ids = await storedIds(worker.url, locations);
      return ids.size === 6_000;
    }, 90_000, 500);
    const ids = await storedIds(worker.url, locations);
    expect([...ids.values()].every((c) => c === 1)).toBe(true);
    expect(messages.every((_, i) => ids.has(`kill-${i}`))).toBe(true);
    // Wait for the outbox to empty: anything re-sent after the kill must have been a duplicate, not a second copy.
    await waitFor("outbox empty", async () => ((await (await fetch(`http://127.0.0.1:${e.BRIDGE_HTTP_PORT}/healthz`)).json()) as Health).outbox.depth === 0);
    expect((await storedIds(worker.url, locations)).size).toBe(6_000);
  });

  it("messages without $.mid: killed between the outbox commit and the PUBACK, the broker's redelivery is stored once (3.1.1 and 5)", async () => {
    // A broker of its own with persistence on, as docs/BRIDGE.md recommends.
    const persistent = await startMosquitto({ extraConfig: `persistence true\npersistence_location ${mkdtempSync(join(tmpdir(), "mosq-data-"))}/` });
    try {
      for (const version of ["3.1.1", "5"] as const) {
        const location = `NoMid-Crash-${version.replace(/\./g, "")}`;
        const e = await env({ MQTT_URL: persistent.url, MQTT_PROTOCOL_VERSION: version });
        // Each message is told apart by its `n` property only: none has a $.mid.
        const messages = Array.from({ length: 300 }, (_, i) => ({
          topic: `devices/nomid-${i % 7}/messages/events/location=${location}&n=${i}`,
          payload: JSON.stringify({ vote: [0, 0.5, 1][i % 3] }),
        }));
        const crashing = await run({ ...e, BRIDGE_CRASH_AFTER_COMMITS: "3" });
        await publishAll(persistent.url, messages, { protocolVersion: version === "5" ? 5 : 4 });
        expect(await crashing.exited).toEqual({ code: null, signal: "SIGKILL" });
        expect(crashing.output()).toContain("BRIDGE_CRASH_AFTER_COMMITS reached");

        await run(e); // same state directory and session
        const counts = async () => {
          const byN = new Map<string, number>();
          for (const r of await storedReadings(worker.url, location)) byN.set(r.properties!.n!, (byN.get(r.properties!.n!) ?? 0) + 1);
          return byN;
        };
        await waitFor("all 300 stored", async () => (await counts()).size === 300, 60_000, 250);
        await waitFor("the outbox to empty", async () => ((await (await fetch(`http://127.0.0.1:${e.BRIDGE_HTTP_PORT}/healthz`)).json()) as Health).outbox.depth === 0);
        const byN = await counts();
        expect([...byN.entries()].filter(([, c]) => c !== 1)).toEqual([]);
        expect((await storedReadings(worker.url, location)).length).toBe(300);
        // The kill really left spooled messages unacknowledged, and the restarted bridge recognised them.
        const metrics = await scrape(Number(e.BRIDGE_HTTP_PORT));
        expect(metrics.get("bridge_mqtt_redeliveries_recognised_total")).toBeGreaterThan(0);
        for (const c of children.splice(0)) await c.kill(); // not a shared subscription: it would take the next round's messages too
      }
    } finally {
      for (const c of children.splice(0)) await c.kill();
      await persistent.stop();
    }
  });

  it("MQTT 5: an oversized message is refused before it is buffered (Maximum Packet Size); the connection and later messages are unaffected", async () => {
    const e = await env({ MQTT_PROTOCOL_VERSION: "5", MAX_MESSAGE_BYTES: "65536", COMMANDS_ENABLED: "false" });
    const bridge = await run(e);
    const huge = { topic: "devices/big-1/messages/events/location=Oversized", payload: JSON.stringify({ vote: 1, pad: "x".repeat(512 * 1024) }) };
    await publishAll(broker.url, [huge, telemetry("big-1", "oversized-after", "Oversized")], { protocolVersion: 5 });
    await waitFor("the small one stored", async () => (await storedReadings(worker.url, "Oversized")).length === 1);
    const metrics = await scrape(Number(e.BRIDGE_HTTP_PORT));
    expect(metrics.get("bridge_messages_received_total")).toBe(1); // the 512 KiB one never reached the bridge
    expect(bridge.output()).not.toContain("mqtt connection closed");
  });

  it("two bridges on one shared subscription split the stream; every message is stored once", async () => {
    const start = async (name: string) => {
      const b = await startBridge(
        {
          mqttUrl: broker.url,
          mqttShareGroup: "happy-hub-bridges",
          mqttClientId: `${name}-${process.pid}`,
          ingestUrl: `${worker.url}/api/v1/ingest`,
          ingestToken: worker.ingestToken,
          stateDir: mkdtempSync(join(tmpdir(), `bridge-${name}-`)),
          httpPort: 0,
        },
        { log: createLogger({ level: "warn", write: () => {} }) },
      );
      inProcess.push(b);
      await waitFor(`${name} subscribed`, () => b.health().ok, 10_000);
      return b;
    };
    const [a, b] = [await start("share-a"), await start("share-b")];
    const messages = Array.from({ length: 3_000 }, (_, i) => telemetry(`share-${i % 40}`, `share-${i}`, "Shared"));
    await publishAll(broker.url, messages);
    await waitFor("all 3,000 stored", async () => (await storedIds(worker.url, ["Shared"])).size === 3_000, 60_000, 250);
    const ids = await storedIds(worker.url, ["Shared"]);
    expect([...ids.values()].every((c) => c === 1)).toBe(true);
    expect(a.metrics.spooled.value()).toBeGreaterThan(0);
    expect(b.metrics.spooled.value()).toBeGreaterThan(0);
    expect(a.metrics.spooled.value() + b.metrics.spooled.value()).toBe(3_000);
  });

  it("with a full outbox leaves messages to mosquitto and has them redelivered once the worker drains it", async () => {
    // A gate in front of the worker: 503 while closed, a plain proxy while open.
    let open = false;
    const gate = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (!open) return void res.writeHead(503, { "content-type": "application/json" }).end('{"error":"gate closed","issues":[]}');
      const upstream = await fetch(`${worker.url}${req.url}`, { method: "POST", headers: { authorization: req.headers.authorization ?? "", "content-type": "application/json" }, body });
      res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
    });
    await new Promise<void>((r) => gate.listen(0, "127.0.0.1", () => r()));
    try {
      const bridge = await startBridge(
        {
          mqttUrl: broker.url,
          mqttClientId: `full-${process.pid}`,
          ingestUrl: `http://127.0.0.1:${(gate.address() as AddressInfo).port}/api/v1/ingest`,
          ingestToken: worker.ingestToken,
          stateDir: mkdtempSync(join(tmpdir(), "bridge-full-")),
          httpPort: 0,
          outboxMaxEvents: 50,
          retryMinMs: 50,
          retryMaxMs: 200,
        },
        { log: createLogger({ level: "error", write: () => {} }) },
      );
      inProcess.push(bridge);
      await waitFor("subscribed", () => bridge.health().ok, 10_000);
      await publishAll(broker.url, Array.from({ length: 300 }, (_, i) => telemetry(`full-${i % 5}`, `mosq-full-${i}`, "Mosq-Full")));
      await waitFor("a full outbox and deferrals", () => bridge.health().outbox.full && bridge.metrics.deferred.value() > 0);
      expect(bridge.metrics.spooled.value()).toBe(50);
      open = true;
      await waitFor("all 300 stored", async () => (await storedIds(worker.url, ["Mosq-Full"])).size === 300, 60_000, 250);
      expect([...(await storedIds(worker.url, ["Mosq-Full"])).values()].every((c) => c === 1)).toBe(true);
    } finally {
      gate.closeAllConnections();
      gate.close();
    }
  });

  it("reconnects and subscribes again when the broker restarts and forgot the session", async () => {
    const bridge = await startBridge(
      {
        mqttUrl: broker.url,
        mqttClientId: `restart-${process.pid}`,
        ingestUrl: `${worker.url}/api/v1/ingest`,
        ingestToken: worker.ingestToken,
        stateDir: mkdtempSync(join(tmpdir(), "bridge-restart-")),
        httpPort: 0,
        mqttReconnectMinMs: 100,
        mqttReconnectMaxMs: 500,
      },
      { log: createLogger({ level: "error", write: () => {} }) },
    );
    inProcess.push(bridge);
    await waitFor("subscribed", () => bridge.health().ok, 10_000);
    await publishAll(broker.url, [telemetry("restart-1", "restart-before", "Restart")]);
    await waitFor("the first stored", async () => (await storedReadings(worker.url, "Restart")).length === 1);

    await broker.restart();
    await waitFor("unhealthy while the broker is away or the subscription is not renewed", () => !bridge.health().ok, 10_000, 10);
    await waitFor("subscribed again", () => bridge.health().ok, 15_000);
    await publishAll(broker.url, [telemetry("restart-1", "restart-after", "Restart")]);
    await waitFor("the second stored", async () => (await storedReadings(worker.url, "Restart")).length === 2);
  });

  it("connects over TLS with MQTT_CA_FILE and a client certificate; without the CA it does not connect", async () => {
    const tls = { MQTT_URL: broker.tlsUrl!, MQTT_CA_FILE: pki.caFile, MQTT_CERT_FILE: pki.clientCertFile, MQTT_KEY_FILE: pki.clientKeyFile };
    const bridge = await run(await env(tls));
    execFileSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(broker.port), "-q", "1", "-t", "devices/tls-1/messages/events/%24.mid=tls-1&location=Tls", "-m", '{"vote":1}']);
    await waitFor("stored over TLS", async () => (await storedReadings(worker.url, "Tls")).length === 1);
    await bridge.kill("SIGTERM");

    const untrusted = await env({ ...tls, MQTT_CA_FILE: "" });
    const child = spawnBridge(untrusted);
    children.push(child);
    await waitFor("a TLS error", () => child.output().includes("mqtt error"), 15_000);
    expect(child.output()).toMatch(/certificate/i);
    const health = await fetch(`http://127.0.0.1:${untrusted.BRIDGE_HTTP_PORT}/healthz`);
    expect(health.status).toBe(503);
  });
});
