import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertsResponse, channelsResponse, webhookPayload, type LogEvent } from "../../protocol";
import { startWebhookReceiver, type Delivery, type ReceiverAnswer, type WebhookReceiver } from "../../scripts/lib/webhook-receiver";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { createParts } from "../support/parts";
import { independentSignature } from "../support/standard-webhooks";
import { storedEvents, waitFor } from "./bridge-harness";

/**
 * Notifications delivered for real: the worker under `wrangler dev`, the
 * location's own alarm sending to a Node HTTP receiver on 127.0.0.1 that
 * fails first. Signatures are checked here with node:crypto, independently of
 * the worker's code; the log must hold exactly one outcome per notification,
 * across a restart of the worker in the middle of the retries.
 */

const parts = createParts();
let worker: LocalWorker;
beforeAll(async () => {
  worker = await parts.start(startLocalWorker(), (w) => w.dispose());
});
afterAll(() => parts.stopAll());

/** The signature a delivery must carry, computed from the spec (test/support/standard-webhooks.ts). */
const expectedSignature = (secret: string, d: Delivery) => independentSignature(secret, d.id, d.timestamp, d.body);

async function receiver(answer: (n: number) => ReceiverAnswer): Promise<WebhookReceiver> {
  return parts.start(startWebhookReceiver({ answer }), (r) => r.stop());
}

async function putChannels(channels: unknown[]): Promise<void> {
  const res = await fetch(`${worker.url}/api/v1/notifications`, {
    method: "PUT",
    headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ channels }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  channelsResponse.parse(await res.json());
}

let n = 0;
/** Three sad votes from one device, now: the default rule raises an alert. */
async function pressSad(location: string, deviceId: string): Promise<void> {
  const events = [0, 1, 2].map(() => ({ id: `notify-${process.pid}-${++n}`, deviceId, location, occurredAt: new Date().toISOString(), vote: 0 }));
  const res = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

const ofType = <T extends LogEvent["type"]>(events: LogEvent[], type: T) => events.filter((e): e is Extract<LogEvent, { type: T }> => e.type === type);
const outcomes = async (location: string) => {
  const log = await storedEvents(worker.url, location);
  return { queued: ofType(log, "notification-queued"), sent: ofType(log, "notification-sent"), failed: ofType(log, "notification-failed"), log };
};
const settle = () => new Promise((r) => setTimeout(r, 3_000));

describe("webhook notifications from the location's alarm", () => {
  it("retries a 500 and a 429 (after its Retry-After), then sends once; signed, with one webhook-id; other locations' alerts stay out", async () => {
    const hook = await receiver((i) => [{ status: 500 }, { status: 429, headers: { "retry-after": "1" } }][i] ?? { status: 200 });
    await putChannels([{ id: "e2e", type: "webhook", url: hook.url, secret: hook.secret, events: ["alert-raised", "alert-cleared"], locations: ["Notify retry"] }]);

    await pressSad("Notify elsewhere", "door-x");
    const pressedAt = Date.now();
    await pressSad("Notify retry", "door-1");
    await waitFor("notification-sent in the log", async () => (await outcomes("Notify retry")).sent.length > 0, 60_000, 200);

    const { queued, sent, failed, log } = await outcomes("Notify retry");
    const alert = log.find((e) => e.type === "alert-raised")!;
    expect(queued).toEqual([expect.objectContaining({ alertId: alert.id, channelId: "e2e", notificationId: `${alert.id}.e2e`, event: "alert-raised" })]);
    expect(sent).toEqual([expect.objectContaining({ notificationId: `${alert.id}.e2e`, attempts: 3, status: 200 })]);
    expect(failed).toEqual([]);

    expect(hook.deliveries.map((d) => d.status)).toEqual([500, 429, 200]);
    for (const d of hook.deliveries) {
      expect(d.id).toBe(`Notify%20retry.${alert.id}.e2e`);
      expect(d.signature).toBe(expectedSignature(hook.secret, d));
      expect(Math.abs(Number(d.timestamp) * 1000 - d.at)).toBeLessThan(60_000);
      expect(d.headers["content-type"]).toBe("application/json");
    }
    expect(new Set(hook.deliveries.map((d) => d.body)).size, "the same body on every attempt").toBe(1);
    console.info(`notification: first attempt ${hook.deliveries[0]!.at - pressedAt} ms after the sad votes were posted; attempts at +${hook.deliveries.map((d) => d.at - hook.deliveries[0]!.at).join(", +")} ms`);
    expect(hook.deliveries[2]!.at - hook.deliveries[1]!.at, "Retry-After: 1 honoured").toBeGreaterThanOrEqual(900);
    const body = webhookPayload.parse(JSON.parse(hook.deliveries[0]!.body));
    expect(body).toMatchObject({ type: "alert-raised", timestamp: alert.occurredAt, data: { location: "Notify retry", alertId: alert.id, deviceId: "door-1", ruleId: "low-score", value: 0, samples: 3 } });
    expect(body.text).toBe(":rotating_light: *Notify retry* · door-1: score 0.00 over 3 votes (rule low-score: score below 0.70)");

    // Nothing more arrives, and the alerts route shows the outcome.
    await settle();
    expect(hook.deliveries).toHaveLength(3);
    const alerts = alertsResponse.parse(await (await fetch(`${worker.url}/api/v1/locations/Notify%20retry/alerts`)).json());
    expect(alerts.alerts[0]!.notifications).toEqual([expect.objectContaining({ id: `${alert.id}.e2e`, status: "sent", attempts: 3, lastStatus: 200 })]);
    expect((await outcomes("Notify elsewhere")).queued).toEqual([]);
  });

  it("gives up at once on a 4xx other than 429, recording the status", async () => {
    const hook = await receiver(() => ({ status: 410 }));
    await putChannels([{ id: "gone", type: "webhook", url: hook.url, secret: hook.secret, events: ["alert-raised"] }]);
    await pressSad("Notify gone", "door-2");
    await waitFor("notification-failed in the log", async () => (await outcomes("Notify gone")).failed.length > 0, 60_000, 200);
    const { sent, failed } = await outcomes("Notify gone");
    expect(sent).toEqual([]);
    expect(failed).toEqual([expect.objectContaining({ channelId: "gone", attempts: 1, status: 410, error: expect.stringMatching(/^HTTP 410/) })]);
    await settle();
    expect(hook.deliveries.map((d) => d.status)).toEqual([410]);
  });

  it("sends exactly once across a restart of the worker in the middle of the retries", async () => {
    let up = false;
    const hook = await receiver(() => (up ? { status: 200 } : { status: 503 }));
    await putChannels([{ id: "restart", type: "webhook", url: hook.url, secret: hook.secret, events: ["alert-raised"] }]);
    await pressSad("Notify restart", "door-3");
    await waitFor("the first (failed) attempt", () => hook.deliveries.length >= 1, 60_000, 50);

    // Stop the worker mid-retry: what is pending lives in the location's log, not in memory.
    await worker.stop();
    up = true;
    await worker.restart();
    // Nothing addresses the location after the restart: its stored alarm alone must bring the retry.
    await waitFor("the retry after the restart", () => hook.deliveries.some((d) => d.status === 200), 60_000, 100);
    await waitFor("notification-sent in the log", async () => (await outcomes("Notify restart")).sent.length > 0, 10_000, 200);
    await settle();

    const { queued, sent, failed } = await outcomes("Notify restart");
    expect(queued).toHaveLength(1);
    expect(sent).toEqual([expect.objectContaining({ notificationId: queued[0]!.notificationId, status: 200 })]);
    expect(failed).toEqual([]);
    const ok = hook.deliveries.filter((d) => d.status === 200);
    expect(ok, "one successful delivery").toHaveLength(1);
    expect(new Set(hook.deliveries.map((d) => d.id))).toEqual(new Set([`Notify%20restart.${queued[0]!.alertId}.restart`]));
    for (const d of hook.deliveries) expect(d.signature).toBe(expectedSignature(hook.secret, d));
  });
});
