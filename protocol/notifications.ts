import { z } from "zod";
import { locationName, systemEventId } from "./ids";
import { acknowledgement } from "./notification-state";

/**
 * Notifications: alerts and daily digests sent to people through webhook
 * channels, signed the Standard Webhooks way (https://www.standardwebhooks.com):
 * `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`.
 * A channel's body carries a Slack-compatible `text`, so a chat's incoming-webhook
 * URL works as a channel as it is.
 */

/** A channel's name: lowercase letters, digits and dashes (it is part of notification ids). */
export const channelId = z
  .string({ error: "channel id must be a string" })
  .min(1, "channel id must not be empty")
  .max(40, "channel id must be at most 40 characters")
  .regex(/^[a-z0-9][a-z0-9-]*$/, "channel id may hold only lowercase letters, digits and '-', starting with a letter or digit");

export const NOTIFICATION_EVENTS = ["alert-raised", "alert-cleared", "digest"] as const;
export const notificationEvent = z.enum(NOTIFICATION_EVENTS, { error: 'events may be "alert-raised", "alert-cleared" or "digest"' });
export type NotificationEvent = z.infer<typeof notificationEvent>;

/** The secret's key is at least this long (Standard Webhooks keys are 24 to 64 bytes). */
export const WEBHOOK_SECRET_MIN_BYTES = 24;
const WHSEC = "whsec_";

/** The raw bytes of a `whsec_<base64>` secret; null when it is not one. */
export function webhookKeyBytes(secret: string): Uint8Array | null {
  if (!secret.startsWith(WHSEC)) return null;
  const b64 = secret.slice(WHSEC.length);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(b64)) return null;
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

/** `whsec_` and the base64 of at least 24 random bytes, as Standard Webhooks libraries generate them. */
export const webhookSecret = z
  .string({ error: "secret must be a string" })
  .max(200, "secret must be at most 200 characters")
  .superRefine((s, ctx) => {
    if (!s.startsWith(WHSEC)) return ctx.addIssue({ code: "custom", message: 'secret must look like "whsec_<base64>"' });
    const key = webhookKeyBytes(s);
    if (key === null) return ctx.addIssue({ code: "custom", message: 'secret: what follows "whsec_" must be standard base64 (A-Z a-z 0-9 + /, padded with =)' });
    if (key.length < WEBHOOK_SECRET_MIN_BYTES) {
      ctx.addIssue({ code: "custom", message: `secret must hold at least ${WEBHOOK_SECRET_MIN_BYTES} bytes (it holds ${key.length}); e.g. whsec_ + base64 of 32 random bytes` });
    }
  });

/** Where a channel posts: an absolute http(s) URL without credentials in it. */
export const webhookUrl = z
  .string({ error: "url must be a string" })
  .max(2048, "url must be at most 2048 characters")
  .superRefine((s, ctx) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      return ctx.addIssue({ code: "custom", message: "url must be an absolute URL like https://hooks.example.org/happy-hub" });
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      ctx.addIssue({ code: "custom", message: `url must be http(s), not ${url.protocol.replace(/:$/, "")}` });
    }
    if (url.username || url.password) ctx.addIssue({ code: "custom", message: "url must not hold a user name or password (the signature authenticates)" });
  });

export const CHANNEL_LIMITS = { maxChannels: 20, maxLocations: 100 } as const;

/** One channel as PUT: where, with which secret, for which events and (optionally) which locations. */
export const channel = z
  .strictObject({
    id: channelId,
    type: z.literal("webhook", { error: 'type must be "webhook"' }),
    url: webhookUrl,
    secret: webhookSecret,
    events: z.array(notificationEvent, { error: "events must be an array" }).min(1, "events must list at least one event"),
    /** Only these locations' notifications (all when absent). */
    locations: z.array(locationName, { error: "locations must be an array of location names" }).min(1, "locations, when given, must list at least one").max(CHANNEL_LIMITS.maxLocations).optional(),
  })
  .superRefine((c, ctx) => {
    c.events.forEach((e, i) => {
      if (c.events.indexOf(e) !== i) ctx.addIssue({ code: "custom", path: ["events", i], message: `"${e}" is listed twice` });
    });
  });
export type Channel = z.output<typeof channel>;

/** Body of PUT /api/v1/notifications: the complete set of channels (replaces the previous one). */
export const channelsBody = z
  .strictObject(
    { channels: z.array(channel, { error: "body must be an object with a `channels` array" }).max(CHANNEL_LIMITS.maxChannels, `at most ${CHANNEL_LIMITS.maxChannels} channels`) },
    { error: "body must be an object with a `channels` array" },
  )
  .superRefine(({ channels }, ctx) => {
    const seen = new Set<string>();
    channels.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: "custom", path: ["channels", i, "id"], message: `duplicate channel id "${c.id}"` });
      seen.add(c.id);
    });
  });
export type ChannelsBody = z.output<typeof channelsBody>;

/** The secret as answered: its prefix and last 4 characters only. */
export const secretHint = (secret: string): string => `${WHSEC}…${secret.slice(-4)}`;

/** GET/PUT /api/v1/notifications answer: the channels with their secrets hidden. */
export const channelsResponse = z.object({
  /** Increases with every PUT; 0 before the first. */
  version: z.number().int().nonnegative(),
  updatedAt: z.iso.datetime().nullable(),
  channels: z.array(
    z.object({
      id: channelId,
      type: z.literal("webhook"),
      url: z.string(),
      /** `whsec_…` and the secret's last 4 characters. */
      secretHint: z.string(),
      events: z.array(notificationEvent),
      locations: z.array(locationName).optional(),
    }),
  ),
});
export type ChannelsResponse = z.infer<typeof channelsResponse>;

/** What a delivery's JSON body holds (Standard Webhooks: type, timestamp, data), plus chat `text`. */
export const webhookPayload = z.object({
  type: notificationEvent,
  /** ISO 8601: when the event happened (the alert's time), the same on every attempt. */
  timestamp: z.iso.datetime(),
  data: z.record(z.string(), z.unknown()),
  /** One human line (Slack mrkdwn-safe). */
  text: z.string(),
});
export type WebhookPayload = z.infer<typeof webhookPayload>;

export { notificationState, acknowledgement, type NotificationState, type Acknowledgement } from "./notification-state";

export const ACK_COMMENT_MAX = 500;

/** Body of POST …/alerts/{id}/ack (may be empty). */
export const ackBody = z.strictObject(
  {
    comment: z.string({ error: "comment must be a string" }).trim().min(1, "comment, when given, must not be empty").max(ACK_COMMENT_MAX, `comment must be at most ${ACK_COMMENT_MAX} characters`).optional(),
  },
  { error: 'body must be an object like {"comment":"…"} (or empty)' },
);

/** POST …/alerts/{id}/ack answer. */
export const ackResponse = z.object({ location: locationName, alertId: systemEventId, acknowledgement });
export type AckResponse = z.infer<typeof ackResponse>;
