import { z } from "zod";
import { deviceId, logEventId, systemEventId } from "./ids";
import { commandPayload, rule, ruleId, ruleMetric, ruleOperator } from "./actions";
import { properties } from "./ingest";
import { humidity, temperature, vote } from "./readings";
import { settingsBody } from "./settings";

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

/** What an alert was judged on: the device's window (the rule's `windowMinutes`) at the time. */
const judgement = {
  ruleId,
  deviceId,
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

/** The location's settings (time zone, opening hours…) were replaced (by PUT …/settings). */
export const settingsSetEvent = z.object({
  ...logEntry,
  type: z.literal("settings-set"),
  settings: settingsBody,
});

/** Any entry of a location's log as the read API and live frames carry it. */
export const logEvent = z.discriminatedUnion("type", [
  readingEvent,
  rulesSetEvent,
  alertRaisedEvent,
  alertClearedEvent,
  commandIssuedEvent,
  commandDeliveredEvent,
  settingsSetEvent,
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
