import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startBridge } from "../../../bridge/bridge";
import { createLogger } from "../../../bridge/log";

const quiet = { log: createLogger({ level: "error", write: () => {} }) };

describe("startBridge", () => {
  it("refuses bad configuration before touching anything", async () => {
    await expect(startBridge({ ingestToken: "t", batchMaxEvents: 0 }, quiet)).rejects.toThrow("BATCH_MAX_EVENTS (--batch-max-events): must be at least 1");
  });

  it("releases the state directory when it cannot start, so a second try succeeds", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const port = (busy.address() as AddressInfo).port;
    const stateDir = mkdtempSync(join(tmpdir(), "bridge-start-"));
    const config = { ingestToken: "t", stateDir, mqttUrl: "mqtt://127.0.0.1:9", mqttReconnectMinMs: 1000 };
    await expect(startBridge({ ...config, httpPort: port }, quiet)).rejects.toThrow(/EADDRINUSE/);
    busy.close();
    const bridge = await startBridge({ ...config, httpPort: 0 }, quiet);
    expect(bridge.health()).toMatchObject({
      ok: false,
      source: { kind: "mqtt", connected: false },
      outbox: { depth: 0 },
      commands: { enabled: true, connected: false, role: null, epoch: null, cursor: 0, lastCommandAt: null, failures: 0, pendingReports: 0 }, // starts with the broker connection
    });
    const res = await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`);
    expect(res.status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${bridge.httpPort}/nope`)).status).toBe(404);
    const metrics = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
    expect(metrics).toContain("bridge_outbox_depth 0");
    expect(metrics).toContain("bridge_commands_published_total 0");
    expect(metrics).toContain("bridge_command_feed_last_error_timestamp_seconds 0");
    expect(await bridge.stop()).toEqual({ drained: true, depth: 0 });
  });
});
