import type { AlertEntry } from "../location/entries";
import { webhookKeyBytes, type WebhookPayload } from "../../protocol/notifications";
import { isoString } from "../../protocol/time";

/**
 * Standard Webhooks (https://www.standardwebhooks.com), the sending side:
 * the signed content is `{webhook-id}.{webhook-timestamp}.{body}`, signed with
 * HMAC-SHA256 under the base64-decoded part of the `whsec_` secret, sent as
 * `webhook-signature: v1,<base64>`. The body is the same on every attempt; the
 * timestamp is the attempt's (receivers refuse old ones against replays), so
 * each attempt is signed anew.
 */

const encoder = new TextEncoder();

/** Headers of one attempt. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
  "content-type": "application/json";
}

const toBase64 = (bytes: ArrayBuffer): string => btoa(String.fromCharCode(...new Uint8Array(bytes)));

/** `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`; timestamp in whole seconds. */
export async function webhookSignature(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  const key = webhookKeyBytes(secret);
  if (key === null) throw new TypeError('a webhook secret looks like "whsec_<base64>"');
  const hmac = await crypto.subtle.importKey("raw", new Uint8Array(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `v1,${toBase64(await crypto.subtle.sign("HMAC", hmac, encoder.encode(`${id}.${timestampSeconds}.${body}`)))}`;
}

export async function webhookHeaders(secret: string, id: string, now: number, body: string): Promise<WebhookHeaders> {
  const timestamp = Math.floor(now / 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await webhookSignature(secret, id, timestamp, body),
    "content-type": "application/json",
  };
}

/**
 * A notification's `webhook-id`: the location (URI-encoded: header values are
 * ASCII), a dot, and the notification id `{alert id}.{channel id}` (or `digest-{date}.{channel id}`). Stable
 * across retries and restarts, unique across locations (alert ids start with
 * `~`, which no location name holds), so a receiver can drop repeats by it.
 */
export const webhookId = (location: string, notificationId: string): string => `${encodeURIComponent(location)}.${notificationId}`;

/** Slack's mrkdwn needs these three escaped; ids and names cannot hold them, but a comment one day may. */
const mrkdwn = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function metricValue(metric: AlertEntry["metric"], value: number): string {
  if (metric === "temperature") return `${value.toFixed(1)} °C`;
  if (metric === "humidity") return `${value.toFixed(0)} %`;
  if (metric === "votes") return String(value);
  return value.toFixed(2);
}

const samplesOf = (metric: AlertEntry["metric"], n: number): string =>
  metric === "score" || metric === "votes" || metric === "sad-share" ? `${n} vote${n === 1 ? "" : "s"}` : `${n} reading${n === 1 ? "" : "s"}`;

/** The one human line of an alert change, for chat. */
export function alertText(location: string, alert: AlertEntry): string {
  if (alert.metric === "offline") return mrkdwn(offlineText(location, alert));
  const what = `${alert.metric} ${alert.value === null ? "no data" : metricValue(alert.metric, alert.value)}`;
  const rule = `rule ${alert.ruleId}: ${alert.metric} ${alert.op} ${metricValue(alert.metric, alert.threshold)}`;
  // A location-scope rule's alert names no device: it is about the whole location.
  const who = alert.deviceId ?? "all devices";
  const text =
    alert.type === "alert-raised"
      ? `:rotating_light: *${location}* · ${who}: ${what} over ${samplesOf(alert.metric, alert.samples)} (${rule})`
      : `:white_check_mark: *${location}* · ${who}: cleared, ${alert.value === null ? "no data left in the window" : what} (${rule})`;
  return mrkdwn(text);
}

/** An offline alert's line: the device, its silence in multiples of its expected interval (domain/location/offline.ts). */
function offlineText(location: string, alert: AlertEntry): string {
  const times = (n: number) => `${Number(n.toFixed(2))}×`;
  const rule = `rule ${alert.ruleId}: silent more than ${times(alert.threshold)} its interval`;
  return alert.type === "alert-raised"
    ? `:rotating_light: *${location}* · ${alert.deviceId}: offline, silent ${alert.value === null ? "" : `${times(alert.value)} `}its expected interval (${rule})`
    : `:white_check_mark: *${location}* · ${alert.deviceId}: no longer offline (${rule})`;
}

/** The JSON body of an alert's notification: the same bytes on every attempt. */
export function alertPayload(location: string, alert: AlertEntry): WebhookPayload {
  return {
    type: alert.type,
    timestamp: isoString(alert.occurredAt),
    data: {
      location,
      alertId: alert.id,
      seq: alert.seq,
      ruleId: alert.ruleId,
      /** null: a location-scope rule's alert (the whole location's window). */
      deviceId: alert.deviceId ?? null,
      metric: alert.metric,
      op: alert.op,
      threshold: alert.threshold,
      value: alert.value,
      samples: alert.samples,
    },
    text: alertText(location, alert),
  };
}
