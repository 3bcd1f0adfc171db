import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelsResponse, settingsResponse, webhookPayload, type LogEvent } from "../../protocol";
import { startWebhookReceiver, type Delivery, type WebhookReceiver } from "../../scripts/lib/webhook-receiver";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";
import { createParts } from "../support/parts";
import { independentSignature } from "../support/standard-webhooks";
import { storedEvents, waitFor } from "./bridge-harness";

/**
 * The daily digest delivered for real: the worker under `wrangler dev`, votes
 * dated over the last days posted through the normal ingest route, settings
 * that make yesterday's digest due at once (digestAt 00:00 local, in
 * Asia/Kolkata: a half-hour zone), and the location's own alarm sending it to
 * a Node receiver that fails first. The receiver's signature check and the
 * figures are computed here, independently of the worker's code (node:crypto,
 * Intl's local dates); exactly one digest is sent across a restart of the
 * worker in the middle of its retries and a later alarm.
 */

const ZONE = "Asia/Kolkata";
const LOCATION = "Digest hall";
const HOUR = 3_600_000;

const parts = createParts();
let worker: LocalWorker;
beforeAll(async () => {
  worker = await parts.start(startLocalWorker(), (w) => w.dispose());
});
afterAll(() => parts.stopAll());

/** The signature a delivery must carry, computed from the spec (test/support/standard-webhooks.ts). */
const expectedSignature = (secret: string, d: Delivery) => independentSignature(secret, d.id, d.timestamp, d.body);

async function send(method: string, path: string, body: unknown, token: string): Promise<unknown> {
  const res = await fetch(`${worker.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

const localDate = (ms: number) => new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);
const localHour = (ms: number) => new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", hourCycle: "h23" }).format(ms);

/** What a digest of `date` must say, counted from the votes sent. */
function byHand(votes: { at: number; vote: 0 | 0.5 | 1 }[], date: string) {
  const ofDay = votes.filter((v) => localDate(v.at) === date);
  const sum = ofDay.reduce((a, v) => a + v.vote, 0);
  return {
    date,
    votes: ofDay.length,
    score: ofDay.length === 0 ? null : sum / ofDay.length,
    happy: ofDay.filter((v) => v.vote === 1).length,
    neutral: ofDay.filter((v) => v.vote === 0.5).length,
    sad: ofDay.filter((v) => v.vote === 0).length,
    ofDay,
  };
}

const ofType = <T extends LogEvent["type"]>(events: LogEvent[], type: T) => events.filter((e): e is Extract<LogEvent, { type: T }> => e.type === type);

describe("the daily digest from the location's alarm", () => {
  it("arrives once, signed, with yesterday's figures in the location's zone; retried across a restart with the same id and body; no second one", async () => {
    let up = false;
    const hook: WebhookReceiver = await parts.start(startWebhookReceiver({ answer: () => (up ? { status: 200 } : { status: 503 }) }), (r) => r.stop());

    // Votes over the last 60 hours (none in the last 2, so no rule judges them), and a sad burst in one hour of yesterday.
    const now = Date.now();
    // Asia/Kolkata keeps +05:30 all year: 24 hours ago is always yesterday there.
    const yesterday = localDate(now - 24 * HOUR);
    const pattern = [1, 1, 0.5, 0, 1] as const;
    const votes: { at: number; vote: 0 | 0.5 | 1 }[] = [];
    for (let at = now - 60 * HOUR, i = 0; at < now - 2 * HOUR; at += 37 * 60_000, i++) votes.push({ at, vote: pattern[i % pattern.length]! });
    const burstAt = Date.parse(`${yesterday}T13:20:00+05:30`);
    for (let i = 1; i <= 6; i++) votes.push({ at: burstAt + i * 1_000, vote: i <= 4 ? 0 : 1 });
    const events = votes.map((v, i) => ({ id: `digest-e2e-${i}`, deviceId: "door-1", location: LOCATION, occurredAt: new Date(v.at).toISOString(), vote: v.vote }));
    await send("POST", "/api/v1/ingest", { events }, worker.ingestToken);

    channelsResponse.parse(
      await send("PUT", "/api/v1/notifications", { channels: [{ id: "daily", type: "webhook", url: hook.url, secret: hook.secret, events: ["digest"], locations: [LOCATION] }] }, worker.adminToken),
    );
    // 00:00 local has passed today: yesterday's digest is due at once.
    settingsResponse.parse(
      await send("PUT", `/api/v1/locations/${encodeURIComponent(LOCATION)}/settings`, { timeZone: ZONE, digestAt: "00:00", displayName: "Digest hall (Pune)" }, worker.adminToken),
    );
    await waitFor("the first (failed) attempt", () => hook.deliveries.length >= 1, 60_000, 50);

    // Stop the worker mid-retry: the digest and its pending notification live in the location's log.
    await worker.stop();
    up = true;
    await worker.restart();
    // Nothing addresses the location after the restart: its stored alarm alone brings the retry.
    await waitFor("the retry after the restart", () => hook.deliveries.some((d) => d.status === 200), 60_000, 100);
    await waitFor("notification-sent in the log", async () => ofType(await storedEvents(worker.url, LOCATION), "notification-sent").length > 0, 10_000, 200);

    // Another alarm (a vote now makes the location update the fleet view within a second): no second digest.
    await send("POST", "/api/v1/ingest", { events: [{ id: "digest-e2e-now", deviceId: "door-2", location: LOCATION, occurredAt: new Date().toISOString(), vote: 1 }] }, worker.ingestToken);
    await new Promise((r) => setTimeout(r, 4_000));

    const log = await storedEvents(worker.url, LOCATION);
    const [due, ...more] = ofType(log, "digest-due");
    expect(more).toEqual([]);
    expect(due!.digest.date).toBe(yesterday);
    const id = `${encodeURIComponent(LOCATION)}.digest-${yesterday}.daily`;
    expect(ofType(log, "notification-queued")).toEqual([expect.objectContaining({ notificationId: `digest-${yesterday}.daily`, alertId: due!.id, event: "digest" })]);
    expect(ofType(log, "notification-sent")).toEqual([expect.objectContaining({ notificationId: `digest-${yesterday}.daily`, status: 200 })]);
    expect(ofType(log, "notification-failed")).toEqual([]);

    expect(hook.deliveries.filter((d) => d.status === 200), "one successful delivery").toHaveLength(1);
    expect(hook.deliveries[0]!.status).toBe(503);
    expect(new Set(hook.deliveries.map((d) => d.id))).toEqual(new Set([id]));
    expect(new Set(hook.deliveries.map((d) => d.body)).size, "the same body on every attempt").toBe(1);
    for (const d of hook.deliveries) {
      expect(d.signature).toBe(expectedSignature(hook.secret, d));
      expect(d.headers["content-type"]).toBe("application/json");
    }

    // The body: yesterday in Asia/Kolkata, counted here from the votes sent.
    const body = webhookPayload.parse(JSON.parse(hook.deliveries[0]!.body));
    const day = byHand(votes, yesterday);
    const before = byHand(votes, localDate(now - 48 * HOUR));
    expect(day.votes).toBeGreaterThan(30);
    expect(body.type).toBe("digest");
    // Due at 00:00 local of today (UTC+05:30): 18:30Z the day before.
    expect(body.timestamp).toBe(new Date(Date.parse(`${localDate(now)}T00:00:00+05:30`)).toISOString());
    const data = body.data as Record<string, unknown> & { score: number; change: { score: number | null; votes: number }; worstHour: { local: string; votes: number; score: number } | null };
    expect(data).toMatchObject({ location: LOCATION, date: yesterday, timeZone: ZONE, votes: day.votes, happy: day.happy, neutral: day.neutral, sad: day.sad });
    expect(data.score).toBeCloseTo(day.score!, 12);
    expect(data.previous).toMatchObject({ date: before.date, votes: before.votes, happy: before.happy, neutral: before.neutral, sad: before.sad });
    expect(data.change.votes).toBe(day.votes - before.votes);
    if (before.score !== null) expect(data.change.score).toBeCloseTo(day.score! - before.score, 12);
    // The worst hour: the lowest score among local hours with at least 5 votes (the burst's hour, counted with the regular votes in it).
    const burst = day.ofDay.filter((v) => localHour(v.at) === "13");
    expect(data.worstHour).toMatchObject({ local: `${yesterday}T13:00:00+05:30`, votes: burst.length });
    expect(data.worstHour!.score).toBeCloseTo(burst.reduce((a, v) => a + v.vote, 0) / burst.length, 12);
    expect(body.text).toMatch(new RegExp(`^:bar_chart: \\*Digest hall \\(Pune\\)\\* · ${yesterday}: \\d\\.\\d\\d over ${day.votes} votes \\(happy ${day.happy}, neutral ${day.neutral}, sad ${day.sad}\\)`));
    console.info(`digest: ${hook.deliveries.length} attempts (${hook.deliveries.map((d) => d.status).join(", ")}), ${day.votes} votes on ${yesterday}`);
  });
});
