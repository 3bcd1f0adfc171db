import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hubKey, mapEvent } from "../../../bridge/azure/event-hub-source";
import { startBridge, type Bridge } from "../../../bridge/bridge";
import { createLogger } from "../../../bridge/log";
import { RecordedEventHub, recordedTelemetry } from "./recorded-event-hub";

describe("Event Hubs mapping on recorded IoT Hub events (Azure mocked)", () => {
  it("takes the device id and enqueued time from IoT Hub's system properties, message-id as id, application properties", () => {
    const event = recordedTelemetry(42, "myDevice", '{"temperature":21.3,"humidity":45.2}', {
      messageId: "msg-42",
      properties: { temperatureAlert: "false", location: "MTC", count: 3 },
    });
    const r = mapEvent(event, "1", "hubkey");
    expect(r).toEqual({
      ok: true,
      message: {
        deviceId: "myDevice",
        messageId: "msg-42",
        contentType: "application/json",
        contentEncoding: "utf-8",
        properties: { temperatureAlert: "false", location: "MTC", count: "3" },
        body: Buffer.from('{"temperature":21.3,"humidity":45.2}'),
        receivedAt: Date.UTC(2025, 0, 15, 11, 59, 58, 120),
        fallbackId: "hubkey:1:42",
      },
    });
  });

  it("reads message-id under IoT Hub's own name too, and skips what is not telemetry", () => {
    const event = recordedTelemetry(1, "d", "{}");
    event.systemProperties!["message-id"] = "legacy-id";
    const mapped = mapEvent(event, "0", "k");
    expect(mapped.ok && mapped.message.messageId).toBe("legacy-id");
    expect(mapEvent(recordedTelemetry(2, "d", "{}", { source: "twinChangeEvents" }), "0", "k")).toEqual({ ok: false, skip: "not telemetry (twinChangeEvents)" });
    const anonymous = recordedTelemetry(3, "d", "{}");
    delete anonymous.systemProperties!["iothub-connection-device-id"];
    expect(mapEvent(anonymous, "0", "k")).toEqual({ ok: false, error: "event has no iothub-connection-device-id system property" });
  });

  it("derives a stable id per hub from the event's place", () => {
    expect(hubKey("ns.servicebus.windows.net", "hub")).toBe(hubKey("ns.servicebus.windows.net", "hub"));
    expect(hubKey("ns.servicebus.windows.net", "hub")).not.toBe(hubKey("ns.servicebus.windows.net", "hub2"));
    expect(hubKey("a", "b")).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe("Event Hubs checkpointing on recorded events (Azure mocked, scripted ingest endpoint)", () => {
  let server: Server | undefined;
  let bridge: Bridge | undefined;
  afterEach(async () => {
    await bridge?.stop();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("checkpoints a partition only past events the worker acknowledged (or dead-lettered)", async () => {
    let up = false;
    const stored: string[] = [];
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (!up) return res.writeHead(503).end('{"error":"down","issues":[]}');
      const events = (JSON.parse(Buffer.concat(chunks).toString()) as { events: { id: string }[] }).events;
      stored.push(...events.map((e) => e.id));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ accepted: events.length, duplicates: 0, rejected: [] }));
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
    const stateDir = mkdtempSync(join(tmpdir(), "eh-"));
    let hub: RecordedEventHub | undefined;
    bridge = await startBridge(
      {
        source: "azure",
        azureConnectionString: "Endpoint=sb://recorded.servicebus.windows.net/;SharedAccessKeyName=service;SharedAccessKey=x;EntityPath=hub",
        ingestUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/ingest`,
        ingestToken: "t",
        stateDir,
        httpPort: 0,
        batchLingerMs: 0,
        retryMinMs: 10,
        retryMaxMs: 50,
        defaultLocation: "MTC",
      },
      { log: createLogger({ level: "error", write: () => {} }), eventHubClient: (store) => (hub = new RecordedEventHub(store)) },
    );
    expect(bridge.health().source).toEqual({ kind: "azure", connected: true });
    expect(bridge.health().commands.enabled).toBe(false); // IoT Hub takes commands through its service API, not from the bridge

    await hub!.deliver("0", [
      recordedTelemetry(10, "dev-a", '{"vote":1}', { messageId: "m10" }),
      recordedTelemetry(11, "dev-a", '{"vote":2}'), // poison: dead-lettered, not held back
      recordedTelemetry(12, "dev-b", '{"humidity":40}'),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await hub!.checkpoint("0")).toBeUndefined(); // the worker has not acknowledged anything yet

    up = true;
    const deadline = Date.now() + 5_000;
    while ((await hub!.checkpoint("0"))?.sequenceNumber !== 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await hub!.checkpoint("0")).toMatchObject({ sequenceNumber: 12, offset: String(12 * 4096) });
    expect(stored).toEqual(["m10", `${hubKey(hub!.fullyQualifiedNamespace, hub!.eventHubName)}:0:12`]);
    const letters = readFileSync(bridge.deadLetterPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(letters).toMatchObject([{ reason: "body", source: { partition: "0", sequenceNumber: 11 } }]);
  });
});
