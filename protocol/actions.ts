import { z } from "zod";
import { deviceId, locationName, systemEventId, wellFormed } from "./ids";
import { acknowledgement, notificationState } from "./notification-state";

/**
 * Actions: rules over each device's recent window raise and clear alerts
 * and issue commands to the device. Rules, alerts and commands are entries of
 * the location's log like readings, so their history is kept and replayable.
 */

/** A rule's name: lowercase letters, digits and dashes (it is part of event ids). */
export const ruleId = z
  .string()
  .min(1, "rule id must not be empty")
  .max(40, "rule id must be at most 40 characters")
  .regex(/^[a-z0-9][a-z0-9-]*$/, "rule id may hold only lowercase letters, digits and '-', starting with a letter or digit");

/** A command's payload as published to the device (the original device understood "ON"/"OFF"). */
export const commandPayload = z
  .string()
  .min(1, "command payload must not be empty")
  .max(256, "command payload must be at most 256 characters")
  .refine(wellFormed, "command payload must be valid Unicode (no lone surrogate)");

/**
 * `sad-share`: the share of sad votes (0) among the window's votes, 0 to 1
 * (e.g. above 0.5 over 15 minutes with minSamples 4), for a device or the location.
 * `votes` (location scope only): how many votes the window holds, judged only
 * while the location has been open for the whole window (domain/rules-location.ts);
 * `minSamples` does not apply to it (zero votes is what it looks for).
 */
export const ruleMetric = z.enum(["score", "temperature", "humidity", "sad-share", "votes", "offline"], {
  error: 'metric must be "score", "temperature", "humidity", "sad-share", "votes" or "offline"',
});

/** An offline rule's threshold: how many of the device's expected intervals it may stay silent (1 to 1000). */
export const OFFLINE_THRESHOLD = { min: 1, max: 1000 } as const;
export const ruleOperator = z.enum(["below", "above"], { error: 'op must be "below" or "above"' });

/** What a rule judges: each device's window (the default), or the whole location's (every device's votes together). */
export const ruleScope = z.enum(["device", "location"], { error: 'scope must be "device" or "location"' });

/** How far back a rule looks, in minutes (1 to 1440; 60 unless set). */
export const RULE_WINDOW_MINUTES = { min: 1, max: 1440, default: 60 } as const;

/**
 * One rule, evaluated per device over the device's last `windowMinutes`: the
 * alert is raised when `metric op threshold` holds with at least `minSamples`
 * samples (votes for score, readings otherwise), and cleared when it no longer
 * holds. Raising issues `raise` to the device; clearing issues `clear`.
 *
 * With `scope: "location"` the rule judges the location's window instead (all
 * its devices together): its alert names no device and issues no command
 * (`raise`/`clear` are not used); it reaches people through notifications.
 *
 * `metric: "offline"` judges each device registered at the location with an
 * expected interval (the profile the registry pushes): the alert is raised
 * when the device has been silent for more than `threshold` × its interval
 * (`op` must be "above"), by the location's alarm, and cleared when it is
 * heard again. It issues no command (the device is silent: a command would
 * only wait for it in the hub) and ignores `minSamples` and `windowMinutes`;
 * it reaches people through notifications (domain/location/offline.ts).
 */
export const rule = z
  .strictObject({
    id: ruleId,
    /** Absent: "device" (rules from before scopes keep their meaning). */
    scope: ruleScope.optional(),
    metric: ruleMetric,
    op: ruleOperator,
    threshold: z.number({ error: "threshold must be a finite number" }),
    minSamples: z.number().int("minSamples must be an integer").min(1, "minSamples must be at least 1").max(10_000).default(1),
    raise: commandPayload.nullable().default("ON"),
    clear: commandPayload.nullable().default("OFF"),
    windowMinutes: z
      .number({ error: "windowMinutes must be a number" })
      .int("windowMinutes must be a whole number of minutes")
      .min(RULE_WINDOW_MINUTES.min, `windowMinutes must be at least ${RULE_WINDOW_MINUTES.min}`)
      .max(RULE_WINDOW_MINUTES.max, `windowMinutes must be at most ${RULE_WINDOW_MINUTES.max} (24 hours)`)
      .default(RULE_WINDOW_MINUTES.default),
  })
  .superRefine((r, ctx) => {
    if (r.metric === "score" && (r.threshold < 0 || r.threshold > 1)) {
      ctx.addIssue({ code: "custom", path: ["threshold"], message: "a score threshold must be between 0 and 1" });
    }
    if (r.metric === "sad-share" && (r.threshold < 0 || r.threshold > 1)) {
      ctx.addIssue({ code: "custom", path: ["threshold"], message: "a sad-share threshold must be between 0 and 1" });
    }
    if (r.metric === "humidity" && (r.threshold < 0 || r.threshold > 100)) {
      ctx.addIssue({ code: "custom", path: ["threshold"], message: "a humidity threshold must be between 0 and 100" });
    }
    if (r.metric === "temperature" && (r.threshold < -100 || r.threshold > 200)) {
      ctx.addIssue({ code: "custom", path: ["threshold"], message: "a temperature threshold must be between -100 and 200 °C" });
    }
    if (r.metric === "votes") {
      if (r.scope !== "location") ctx.addIssue({ code: "custom", path: ["scope"], message: 'the votes metric needs scope "location"' });
      if (!Number.isInteger(r.threshold) || r.threshold < 1 || r.threshold > 100_000) {
        ctx.addIssue({ code: "custom", path: ["threshold"], message: "a votes threshold must be a whole number from 1 to 100000" });
      }
    }
    if (r.metric === "offline") {
      if (r.threshold < OFFLINE_THRESHOLD.min || r.threshold > OFFLINE_THRESHOLD.max) {
        const message = `an offline threshold must be between ${OFFLINE_THRESHOLD.min} and ${OFFLINE_THRESHOLD.max} (multiples of the device's expected interval)`;
        ctx.addIssue({ code: "custom", path: ["threshold"], message });
      }
      if (r.op !== "above") ctx.addIssue({ code: "custom", path: ["op"], message: 'an offline rule\'s op must be "above" (silent for more than threshold × the interval)' });
      if (r.scope === "location") ctx.addIssue({ code: "custom", path: ["scope"], message: 'an offline rule judges each device: scope must be "device"' });
    }
  });
export type Rule = z.output<typeof rule>;
export type RuleInput = z.input<typeof rule>;

/** Body of PUT /api/v1/locations/{location}/rules: the complete rule set (replaces the previous one). */
export const rulesBody = z
  .strictObject({
    rules: z.array(rule, { error: "body must be an object with a `rules` array" }).max(50, "at most 50 rules per location"),
  }, { error: "body must be an object with a `rules` array" })
  .superRefine(({ rules }, ctx) => {
    const seen = new Set<string>();
    rules.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: "custom", path: ["rules", i, "id"], message: `duplicate rule id "${r.id}"` });
      seen.add(r.id);
    });
  });
export type RulesBody = z.output<typeof rulesBody>;

/** The talk's rule, in force until a location sets its own: score < 0.7 over ≥ 3 votes → "ON", recovery → "OFF". */
export const DEFAULT_RULES: Rule[] = [
  { id: "low-score", metric: "score", op: "below", threshold: 0.7, minSamples: 3, raise: "ON", clear: "OFF", windowMinutes: 60 },
];

export const rulesResponse = z.object({
  location: locationName,
  rules: z.array(rule),
  /** seq of the `rules-set` event in force; null while the defaults apply. */
  seq: z.number().int().positive().nullable(),
});
export type RulesResponse = z.infer<typeof rulesResponse>;

/** A command waiting for (or past) delivery, as the commands hub hands it to the bridge. */
export const command = z.object({
  location: locationName,
  /** The location log seq of its `command-issued` event. */
  seq: z.number().int().positive(),
  /** Event id of the `command-issued` entry; published as the MQTT message id so devices can drop repeats. */
  id: systemEventId,
  deviceId,
  payload: commandPayload,
  ruleId: ruleId.nullable(),
  issuedAt: z.iso.datetime(),
});
export type Command = z.infer<typeof command>;

/** The topic a device listens on for commands (IoT Hub's cloud-to-device convention). */
export const deviceboundTopic = (device: string, messageId?: string): string =>
  `devices/${device}/messages/devicebound/${messageId ? `%24.mid=${encodeURIComponent(messageId)}` : ""}`;

/** An alert currently raised for a device (or, without `deviceId`, for the location: a location-scope rule's). */
export const activeAlert = z.object({
  ruleId,
  deviceId: deviceId.optional(),
  /** seq of its `alert-raised` entry. */
  seq: z.number().int().positive(),
  raisedAt: z.iso.datetime(),
  value: z.number().nullable(),
  samples: z.number().int().nonnegative(),
});
export type ActiveAlert = z.infer<typeof activeAlert>;

/** A raised alert as the alerts route shows it: with its id, its notifications and whether somebody acknowledged it. */
export const alertState = activeAlert.extend({
  /** Id of its `alert-raised` entry (what POST …/alerts/{id}/ack takes). */
  id: systemEventId,
  acknowledgement: acknowledgement.nullable(),
  notifications: z.array(notificationState),
});
export type AlertState = z.infer<typeof alertState>;

/**
 * GET /api/v1/locations/{location}/alerts: raised alerts, the newest 50
 * commands and the newest 50 notifications (of any alert, cleared ones too), newest first.
 */
export const alertsResponse = z.object({
  location: locationName,
  alerts: z.array(alertState),
  commands: z.array(command.omit({ location: true }).extend({ deliveredAt: z.iso.datetime().nullable() })),
  notifications: z.array(notificationState),
});
export type AlertsResponse = z.infer<typeof alertsResponse>;
