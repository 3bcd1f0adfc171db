import { z } from "zod";
import { deviceId, logEventId, systemEventId } from "./ids";
import { commandPayload, rule, ruleId, ruleMetric, ruleOperator } from "./actions";
import { properties } from "./ingest";
import { humidity, temperature, vote } from "./readings";
import { settingsBody } from "./settings";
import { deviceProfileUpdate } from "./device-profiles";

/** Fields every entry of a location's log has. */
const logEntry = {
  /** Per-location sequence number: 1, 2, 3… with no gaps. */
  seq: z.number().int().positive(),
  id: logEventId,
  /** ISO 8601: when it happened (device clock for readings). */
  occurredAt: z.iso.datetime(),
  /** ISO 8601: when the location's object committed it. */
  recordedAt: z.iso.datetime(),
};

/** A device message: `type: "reading"`. */
export const readingEvent = z.object({
  ...logEntry,
  type: z.literal("reading"),
  deviceId,
  vote: vote.optional(),
  temperature: temperature.optional(),
  humidity: humidity.optional(),
  properties: properties.optional(),
});
export type ReadingEvent = z.infer<typeof readingEvent>;

/** The location's rule set was replaced (by PUT …/rules). */
export const rulesSetEvent = z.object({
  ...logEntry,
  type: z.literal("rules-set"),
  rules: z.array(rule),
});

/** What an alert was judged on: the device's (or the location's) window (the rule's `windowMinutes`) at the time. */
const judgement = {
  ruleId,
  /** Absent for a location-scope rule's alert (the location's window). */
  deviceId: deviceId.optional(),
  metric: ruleMetric,
  op: ruleOperator,
  threshold: z.number(),
  /** The metric's value over the device's window (null when no samples remain). */
  value: z.number().nullable(),
  samples: z.number().int().nonnegative(),
};

/** A rule started to hold for a device. */
export const alertRaisedEvent = z.object({ ...logEntry, type: z.literal("alert-raised"), ...judgement });
/** A rule stopped holding for a device (or the rule was removed). */
export const alertClearedEvent = z.object({ ...logEntry, type: z.literal("alert-cleared"), ...judgement });

/** A command for a device, issued by a rule's alert change. `id` is the command id. */
export const commandIssuedEvent = z.object({
  ...logEntry,
  type: z.literal("command-issued"),
  deviceId,
  payload: commandPayload,
  ruleId: ruleId.nullable(),
  /** Id of the alert event that caused it. */
  cause: systemEventId.nullable(),
});

/** The bridge published a command and the broker acknowledged it. */
export const commandDeliveredEvent = z.object({
  ...logEntry,
  type: z.literal("command-delivered"),
  deviceId,
  commandId: systemEventId,
});

/**
 * Notifications (protocol/notifications.ts). Their schemas here are loose on
 * purpose (plain strings): the dashboard reads them from every frame, and the
 * channel rules live where channels are written.
 */
const notified = {
  /** `{alert id}.{channel id}`, or `digest-{date}.{channel id}`. */
  notificationId: z.string(),
  channelId: z.string(),
};
/** An alert change (or a daily digest) was queued for a channel (one entry per alert change or digest, and channel). */
export const notificationQueuedEvent = z.object({
  ...logEntry,
  type: z.literal("notification-queued"),
  ...notified,
  /** Id of the entry it tells of: an alert change, or a `digest-due` (event "digest"). */
  alertId: systemEventId,
  event: z.enum(["alert-raised", "alert-cleared", "digest"]),
});
/** The channel answered 2xx. */
export const notificationSentEvent = z.object({
  ...logEntry,
  type: z.literal("notification-sent"),
  ...notified,
  attempts: z.number().int().positive(),
  status: z.number().int(),
});
/** Given up: a 4xx other than 429, 24 hours of retries, or the channel removed. */
export const notificationFailedEvent = z.object({
  ...logEntry,
  type: z.literal("notification-failed"),
  ...notified,
  attempts: z.number().int().nonnegative(),
  /** The last attempt's HTTP status; null after a network error or with no attempt. */
  status: z.number().int().nullable(),
  error: z.string(),
});
/** Somebody saw the alert (POST …/alerts/{id}/ack). */
export const alertAcknowledgedEvent = z.object({
  ...logEntry,
  type: z.literal("alert-acknowledged"),
  alertId: systemEventId,
  comment: z.string().nullable(),
});

/** A local day's figures in a digest (domain/location/digest.ts). Plain numbers: the dashboard's first chunk holds these schemas. */
const dayFigures = { date: z.string(), votes: z.number(), score: z.number().nullable(), happy: z.number(), neutral: z.number(), sad: z.number() };
export const digestFigures = z.object(dayFigures);
export type DigestFigures = z.infer<typeof digestFigures>;

/** What a daily digest says of one local date (computed by domain/location/digest.ts). */
export const dailyDigest = z.object({
  ...dayFigures,
  timeZone: z.string(),
  /** The lowest-scoring local hour with enough votes; null when none has. */
  worstHour: z.object({ local: z.string(), votes: z.number(), score: z.number() }).nullable(),
  /** The day before, for the change. */
  previous: digestFigures,
  /** Against the day before: score difference (null when either day has no votes) and votes difference. */
  change: z.object({ score: z.number().nullable(), votes: z.number() }),
});
export type Digest = z.infer<typeof dailyDigest>;

/**
 * A daily digest fell due (`occurredAt`: its due instant): what it says of the
 * local date `digest.date` (votes, score, votes by button, the worst hour, the
 * day before and the change against it), the `data` of its notifications'
 * body; `displayName`: the settings' when it fell due (the body's `text`).
 */
export const digestDueEvent = z.object({
  ...logEntry,
  type: z.literal("digest-due"),
  digest: dailyDigest,
  displayName: z.string().optional(),
});

/** The location's settings (time zone, opening hours…) were replaced (by PUT …/settings). */
export const settingsSetEvent = z.object({
  ...logEntry,
  type: z.literal("settings-set"),
  settings: settingsBody,
});

/** The device registry told the location of devices registered (or no longer registered) there: only the profiles that changed. */
export const deviceProfilesSetEvent = z.object({
  ...logEntry,
  type: z.literal("device-profiles-set"),
  profiles: z.array(deviceProfileUpdate),
});

/** Any entry of a location's log as the read API and live frames carry it. */
export const logEvent = z.discriminatedUnion("type", [
  readingEvent,
  rulesSetEvent,
  alertRaisedEvent,
  alertClearedEvent,
  commandIssuedEvent,
  commandDeliveredEvent,
  notificationQueuedEvent,
  notificationSentEvent,
  notificationFailedEvent,
  alertAcknowledgedEvent,
  settingsSetEvent,
  deviceProfilesSetEvent,
  digestDueEvent,
]);
export type LogEvent = z.infer<typeof logEvent>;
export type RulesSetEvent = z.infer<typeof rulesSetEvent>;
export type AlertRaisedEvent = z.infer<typeof alertRaisedEvent>;
export type AlertClearedEvent = z.infer<typeof alertClearedEvent>;
export type CommandIssuedEvent = z.infer<typeof commandIssuedEvent>;
export type CommandDeliveredEvent = z.infer<typeof commandDeliveredEvent>;
export type LogEventType = LogEvent["type"];

export const eventsPage = z.object({
  events: z.array(logEvent),
  /** The `after` to ask for the next page, or null when this page reached the head. */
  next: z.number().int().nonnegative().nullable(),
});
export type EventsPage = z.infer<typeof eventsPage>;

export const EVENTS_PAGE = { defaultLimit: 100, maxLimit: 1000 } as const;
