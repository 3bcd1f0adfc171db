import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type Bridge } from "../../bridge/bridge";
import { createLogger } from "../../bridge/log";
import { registeredDevice, type RegisteredDevice } from "../../protocol/devices";
import { launchBrowser, watchPage } from "../support/browser";
import { createParts } from "../support/parts";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { startMosquitto, type Mosquitto } from "../support/mosquitto";
import { deadLetters, publishAll, storedReadings, telemetry, waitFor } from "./bridge-harness";

/**
 * The device registry with every part real: devices publish to mosquitto, the
 * bridge posts to the worker under wrangler dev with DEVICE_ENROLLMENT=registered,
 * and the registry decides per event: a disabled device's votes are refused
 * (dead-lettered by the bridge, never retried, counted on the device) while
 * another device keeps flowing; an unregistered device's are refused; a
 * relocated device's land at its registered location whatever they claim.
 */
const parts = createParts();
let worker: LocalWorker;
let broker: Mosquitto;
let bridge: Bridge;
let stateDir: string;

beforeAll(async () => {
  [worker, broker] = await parts.startAll<[LocalWorker, Mosquitto]>([
    parts.start(startLocalWorker({ vars: { DEVICE_ENROLLMENT: "registered" } }), (w) => w.dispose()),
    parts.start(startMosquitto(), (b) => b.stop()),
  ]);
  stateDir = mkdtempSync(join(tmpdir(), "registry-bridge-"));
  parts.add(async () => rmSync(stateDir, { recursive: true, force: true }));
  bridge = await parts.start(
    startBridge(
      {
        mqttUrl: broker.url,
        mqttClientId: `registry-bridge-${process.pid}-${randomUUID().slice(0, 6)}`,
        ingestUrl: `${worker.url}/api/v1/ingest`,
        ingestToken: worker.ingestToken,
        stateDir,
        httpPort: 0,
        retryMinMs: 100,
        retryMaxMs: 1_000,
      },
      { log: createLogger({ level: "warn", write: () => {} }) },
    ),
    (b) => b.stop(),
  );
  await waitFor("the bridge to subscribe", () => bridge.health().ok, 10_000, 20);
});
afterAll(() => parts.stopAll());

const admin = () => ({ authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" });

async function putDevice(id: string, body: Record<string, unknown>): Promise<RegisteredDevice> {
  const res = await fetch(`${worker.url}/api/v1/devices/${id}`, { method: "PUT", headers: admin(), body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(200);
  return registeredDevice.parse(await res.json());
}
const getDevice = async (id: string): Promise<RegisteredDevice> =>
  registeredDevice.parse(await (await fetch(`${worker.url}/api/v1/devices/${id}`, { headers: admin() })).json());

const refusals = () => deadLetters(join(stateDir, "dead-letters.jsonl")).filter((d) => d.reason === "rejected");

describe("registry: mosquitto → bridge → worker", () => {
  it("a disabled device's votes are refused, dead-lettered once and counted while another keeps flowing; re-enabled, its next vote is stored", async () => {
    const home = "Registry-E2E";
    await putDevice("reg-off", { name: "Broken button", location: home, enabled: false, expectedIntervalSeconds: 60 });
    await putDevice("reg-on", { location: home, enabled: true });

    // Interleaved, at 20 messages a second: the refusals must not hold up the device behind them.
    const messages = Array.from({ length: 20 }, (_, i) => telemetry(i % 2 === 0 ? "reg-off" : "reg-on", `flow-${i}`, home));
    await publishAll(broker.url, messages, { perSecond: 20 });
    await waitFor("reg-on's 10 votes stored", async () => (await storedReadings(worker.url, home)).length >= 10, 30_000);
    await waitFor("reg-off's 10 votes refused and counted", async () => refusals().length === 10 && (await getDevice("reg-off")).rejected === 10, 30_000);

    expect((await storedReadings(worker.url, home)).map((e) => e.deviceId)).toEqual(Array(10).fill("reg-on"));
    expect(refusals().every((d) => d.errors.join() === 'device "reg-off" is disabled')).toBe(true);
    // Refused is final: nothing waits in the outbox to be sent again.
    await waitFor("the outbox to drain", () => bridge.health().outbox.depth === 0, 10_000);
    expect(bridge.metrics.rejected.value()).toBe(10);

    await putDevice("reg-off", { name: "Broken button", location: home, enabled: true, expectedIntervalSeconds: 60 });
    await publishAll(broker.url, [telemetry("reg-off", "after-enable", home)]);
    await waitFor("reg-off's vote after enabling stored", async () => (await storedReadings(worker.url, home)).some((e) => e.deviceId === "reg-off"), 10_000);
    expect(refusals()).toHaveLength(10);
    expect((await getDevice("reg-off")).rejected).toBe(10);
  });

  it("an unregistered device's votes are refused; a relocated device's land at its registered location, its earlier ones stay", async () => {
    await putDevice("reg-mover", { location: "Registry-Old", enabled: true });
    await publishAll(broker.url, [telemetry("reg-mover", "mover-1", "Registry-Claimed"), telemetry("reg-stranger", "stranger-1", "Registry-Claimed")]);
    await waitFor("the mover's first vote at its old location", async () => (await storedReadings(worker.url, "Registry-Old")).length === 1, 30_000);

    await putDevice("reg-mover", { location: "Registry-New", enabled: true });
    await publishAll(broker.url, [telemetry("reg-mover", "mover-2", "Registry-Claimed"), telemetry("reg-mover", "mover-3", "Registry-Old")]);
    await waitFor("the mover's later votes at its new location", async () => (await storedReadings(worker.url, "Registry-New")).length === 2, 30_000);
    await waitFor("the stranger refused", () => refusals().some((d) => d.errors.join() === 'device "reg-stranger" is not registered'), 30_000);

    expect((await storedReadings(worker.url, "Registry-Old")).map((e) => e.id)).toEqual(["mover-1"]);
    expect((await storedReadings(worker.url, "Registry-Claimed"))).toEqual([]);
    const history = (await (await fetch(`${worker.url}/api/v1/devices/reg-mover/history`, { headers: admin() })).json()) as { history: { type: string }[] };
    expect(history.history.map((h) => h.type)).toEqual(["device-registered", "device-moved"]);
  });

  it("the dashboard's device list shows each device's state, enabled and refused count; disabling one counts its next vote on its row", async () => {
    const home = "Registry-E2E";
    const browser = await parts.start(launchBrowser(), (b) => b.close());
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 960 } })).newPage();
    const seen = watchPage(page);
    await page.goto(`${worker.url}/locations/${home}`);
    const row = (id: string) => page.locator(`tr[data-device-id="${id}"]`);
    await row("reg-off").waitFor({ timeout: 15_000 });
    // From the first test: reg-off was enabled again with 10 refused; both heard just now; reg-off registered with a name and an interval.
    await expect.poll(() => row("reg-off").innerText()).toMatch(/Broken button\s+reg-off\s+(just now|\d+ s ago)\s+online\s+yes\s+10/);
    expect(await row("reg-on").innerText()).toMatch(/reg-on\s+(just now|\d+ s ago)\s+—\s+yes\s+0/);

    await putDevice("reg-off", { name: "Broken button", location: home, enabled: false, expectedIntervalSeconds: 60 });
    await publishAll(broker.url, [telemetry("reg-off", "while-disabled", home), telemetry("reg-on", "while-disabled", home)]);
    // The panel reads the list every 5 s: the refused vote shows on the row while reg-on's is stored.
    await expect.poll(() => row("reg-off").innerText(), { timeout: 20_000, interval: 250 }).toMatch(/disabled\s+11$/);
    await waitFor("reg-on's vote stored", async () => (await storedReadings(worker.url, home)).some((e) => e.id === "while-disabled"), 10_000);
    expect(seen.errors).toEqual([]);
  });
});
