import { randomBytes } from "node:crypto";
import { independentSignature } from "../../support/standard-webhooks";
import { describe, expect, it } from "vitest";
import { decide, type LocationInput } from "../../../domain/location/decide";
import { allocate, type AlertEntry } from "../../../domain/location/entries";
import { initialState } from "../../../domain/location/state";
import { nextNotificationDue } from "../../../domain/location/timing";
import { alertPayload, webhookHeaders, webhookId, webhookSignature } from "../../../domain/notifications/webhook";
import { RETRY_BASE_MS, RETRY_CAP_MS, RETRY_FOR_MS, backoffMs, judgeAttempt, retryAfterMs } from "../../../domain/notifications/retry";

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const secret = `whsec_${randomBytes(32).toString("base64")}`;


const alert = (over: Partial<AlertEntry> = {}): AlertEntry => ({
  seq: 4,
  id: "~alert-4",
  type: "alert-raised",
  occurredAt: T0,
  recordedAt: T0,
  ruleId: "low-score",
  deviceId: "door-mtc-1",
  metric: "score",
  op: "below",
  threshold: 0.7,
  value: 0,
  samples: 3,
  ...over,
});

describe("webhook signatures (Standard Webhooks)", () => {
  it("match an independent HMAC-SHA256 over {id}.{timestamp}.{body} keyed with the decoded secret", async () => {
    const body = JSON.stringify(alertPayload("MTC", alert()));
    const headers = await webhookHeaders(secret, "MTC.~alert-4.ops", T0 + 1_234, body);
    expect(headers["webhook-id"]).toBe("MTC.~alert-4.ops");
    expect(headers["webhook-timestamp"]).toBe(String(Math.floor((T0 + 1_234) / 1000)));
    expect(headers["webhook-signature"]).toBe(independentSignature(secret, "MTC.~alert-4.ops", headers["webhook-timestamp"], body));
  });

  it("differ when the body, the id, the timestamp or the key differ by anything", async () => {
    const body = '{"a":1}';
    const good = await webhookSignature(secret, "id", 100, body);
    expect(await webhookSignature(secret, "id", 100, '{"a":2}')).not.toBe(good);
    expect(await webhookSignature(secret, "id2", 100, body)).not.toBe(good);
    expect(await webhookSignature(secret, "id", 101, body)).not.toBe(good);
    expect(await webhookSignature(`whsec_${randomBytes(32).toString("base64")}`, "id", 100, body)).not.toBe(good);
  });

  it("agree with the Standard Webhooks reference example", async () => {
    // The test vector of the standard-webhooks libraries (secret, id, timestamp, payload → signature).
    const sig = await webhookSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}');
    expect(sig).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("refuse a secret that is not whsec_<base64>", async () => {
    await expect(webhookSignature("not-a-secret", "id", 1, "{}")).rejects.toThrow(/whsec_/);
  });
});

describe("webhook ids and bodies", () => {
  it("make an id per location, alert and channel: ASCII, stable, and distinct across locations", () => {
    expect(webhookId("MTC", "~alert-4.ops")).toBe("MTC.~alert-4.ops");
    expect(webhookId("東京", "~alert-4.ops")).toBe("%E6%9D%B1%E4%BA%AC.~alert-4.ops");
    expect(webhookId("Zürich", "~alert-4.ops")).not.toBe(webhookId("Zurich", "~alert-4.ops"));
    expect(webhookId("a b", "~alert-4.ops")).toMatch(/^[\x21-\x7e]+$/);
  });

  it("carry type, timestamp, data and a Slack text line", () => {
    expect(alertPayload("MTC", alert())).toEqual({
      type: "alert-raised",
      timestamp: "2026-12-03T12:00:00.000Z",
      data: { location: "MTC", alertId: "~alert-4", seq: 4, ruleId: "low-score", deviceId: "door-mtc-1", metric: "score", op: "below", threshold: 0.7, value: 0, samples: 3 },
      text: ":rotating_light: *MTC* · door-mtc-1: score 0.00 over 3 votes (rule low-score: score below 0.70)",
    });
    expect(alertPayload("MTC", alert({ type: "alert-cleared", id: "~clear-9", value: null, samples: 0 })).text).toBe(
      ":white_check_mark: *MTC* · door-mtc-1: cleared, no data left in the window (rule low-score: score below 0.70)",
    );
    expect(alertPayload("MTC", alert({ metric: "temperature", op: "above", threshold: 30, value: 31.25 })).text).toContain("temperature 31.3 °C");
  });
});

describe("retries", () => {
  it("double from the base up to the cap, with jitter between half and all of it", () => {
    expect(backoffMs(1, 0)).toBe(RETRY_BASE_MS / 2);
    expect(backoffMs(1, 0.999)).toBeLessThanOrEqual(RETRY_BASE_MS);
    expect(backoffMs(3, 0)).toBe((RETRY_BASE_MS * 4) / 2);
    expect(backoffMs(40, 0.999)).toBeLessThanOrEqual(RETRY_CAP_MS);
    expect(backoffMs(40, 0)).toBe(RETRY_CAP_MS / 2);
  });

  it("read Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("7", T0)).toBe(7_000);
    expect(retryAfterMs(new Date(T0 + 30_000).toUTCString(), T0)).toBe(30_000);
    expect(retryAfterMs("soon", T0)).toBeNull();
    expect(retryAfterMs(null, T0)).toBeNull();
  });

  it("send on 2xx; retry network errors, 5xx and 429 (honouring Retry-After); give up on other 4xx", () => {
    expect(judgeAttempt({ status: 204, retryAfter: null }, 1, T0, T0, 0)).toEqual({ kind: "sent" });
    expect(judgeAttempt({ status: 500, retryAfter: null }, 1, T0, T0, 0)).toEqual({ kind: "retry", at: T0 + RETRY_BASE_MS / 2 });
    expect(judgeAttempt({ status: null, error: "TypeError: fetch failed" }, 2, T0, T0, 0)).toEqual({ kind: "retry", at: T0 + RETRY_BASE_MS });
    expect(judgeAttempt({ status: 429, retryAfter: "42" }, 1, T0, T0, 0)).toEqual({ kind: "retry", at: T0 + 42_000 });
    expect(judgeAttempt({ status: 429, retryAfter: null }, 1, T0, T0, 0)).toEqual({ kind: "retry", at: T0 + RETRY_BASE_MS / 2 });
    for (const status of [400, 401, 404, 410, 301]) expect(judgeAttempt({ status, retryAfter: null }, 1, T0, T0, 0)).toMatchObject({ kind: "failed" });
  });

  it("stop after 24 hours from when the notification was queued", () => {
    const late = T0 + RETRY_FOR_MS - 1_000;
    expect(judgeAttempt({ status: 503, retryAfter: null }, 30, T0, late, 0)).toMatchObject({ kind: "failed", error: expect.stringMatching(/24 hours/) });
    expect(judgeAttempt({ status: 429, retryAfter: String(RETRY_FOR_MS / 1000 + 1) }, 2, T0, T0, 0)).toMatchObject({ kind: "failed" });
  });
});

describe("decide: notifications", () => {
  const state = () => {
    const s = initialState();
    s.head = 10;
    return s;
  };
  const when = (input: LocationInput, now = T0) => allocate(10, decide(state(), input, now), now);

  it("queues one notification per alert change and channel that takes its event, in log order", () => {
    const raised = alert();
    const cleared = alert({ seq: 8, id: "~clear-8", type: "alert-cleared" });
    const entries = when({
      type: "queue-notifications",
      alerts: [cleared, raised],
      channels: [
        { id: "ops", events: ["alert-raised", "alert-cleared"] },
        { id: "chat", events: ["alert-raised"] },
        { id: "digest-only", events: ["digest"] },
      ],
      covers: [4, 8],
    });
    expect(entries).toEqual([
      { seq: 11, id: "~notify-11", type: "notification-queued", notificationId: "~alert-4.ops", channelId: "ops", alertId: "~alert-4", event: "alert-raised", occurredAt: T0, recordedAt: T0 },
      { seq: 12, id: "~notify-12", type: "notification-queued", notificationId: "~alert-4.chat", channelId: "chat", alertId: "~alert-4", event: "alert-raised", occurredAt: T0, recordedAt: T0 },
      { seq: 13, id: "~notify-13", type: "notification-queued", notificationId: "~clear-8.ops", channelId: "ops", alertId: "~clear-8", event: "alert-cleared", occurredAt: T0, recordedAt: T0 },
    ]);
  });

  it("queues nothing with no channels", () => {
    expect(when({ type: "queue-notifications", alerts: [alert()], channels: [], covers: [4] })).toEqual([]);
  });

  it("records one outcome while the notification is pending, and nothing for a repeat", () => {
    const outcome = { ok: true as const, attempts: 3, status: 200 };
    expect(when({ type: "record-notification", notificationId: "~alert-4.ops", channelId: "ops", pending: true, outcome })).toEqual([
      expect.objectContaining({ type: "notification-sent", id: "~sent-11", notificationId: "~alert-4.ops", attempts: 3, status: 200 }),
    ]);
    expect(when({ type: "record-notification", notificationId: "~alert-4.ops", channelId: "ops", pending: false, outcome })).toEqual([]);
    expect(
      when({ type: "record-notification", notificationId: "~alert-4.ops", channelId: "ops", pending: true, outcome: { ok: false, attempts: 1, status: 410, error: "HTTP 410" } }),
    ).toEqual([expect.objectContaining({ type: "notification-failed", id: "~failed-11", status: 410, error: "HTTP 410", attempts: 1 })]);
  });

  it("acknowledges a known alert once", () => {
    expect(when({ type: "acknowledge", alertId: "~alert-4", comment: "on it", alert: { acknowledged: false } })).toEqual([
      expect.objectContaining({ type: "alert-acknowledged", id: "~ack-11", alertId: "~alert-4", comment: "on it" }),
    ]);
    expect(when({ type: "acknowledge", alertId: "~alert-4", comment: null, alert: { acknowledged: true } })).toEqual([]);
    expect(when({ type: "acknowledge", alertId: "~alert-99", comment: null, alert: null })).toEqual([]);
  });
});

describe("timing: notifications", () => {
  it("need the alarm at once for a fan-out, else at the earliest pending attempt, else not at all", () => {
    expect(nextNotificationDue(true, T0 + 5_000, T0)).toBe(T0);
    expect(nextNotificationDue(false, T0 + 5_000, T0)).toBe(T0 + 5_000);
    expect(nextNotificationDue(false, null, T0)).toBeNull();
  });
});
