import type { LogEvent } from "../../../protocol";
import { formatDegrees, formatHumidity, formatScore } from "./format";
import { fromCelsius, type TemperatureUnit } from "./units";

/** Entries of the log that are not device readings. */
export type ActionEvent = Exclude<LogEvent, { type: "reading" }>;
type Metric = Extract<ActionEvent, { type: "alert-raised" }>["metric"];

export interface ActionLine {
  tone: "alert" | "clear" | "command" | "info";
  title: string;
  detail: string;
}

function metricValue(metric: Metric, value: number, unit: TemperatureUnit): string {
  if (metric === "temperature") return formatDegrees(fromCelsius(value, unit), unit);
  if (metric === "humidity") return formatHumidity(value);
  if (metric === "votes") return String(value);
  return formatScore(value);
}

const samplesOf = (metric: Metric, n: number): string =>
  metric === "score" || metric === "votes" || metric === "sad-share" ? `${n} vote${n === 1 ? "" : "s"}` : `${n} reading${n === 1 ? "" : "s"}`;

/** An offline alert's silence or threshold: multiples of the device's interval. */
const multiples = (n: number): string => `${Number(n.toFixed(2))}×`;

const attemptsOf = (n: number): string => `${n} attempt${n === 1 ? "" : "s"}`;

/** One line of the alerts panel for a rule, alert or command event; temperatures in the viewer's unit. */
export function describeAction(event: ActionEvent, unit: TemperatureUnit): ActionLine {
  switch (event.type) {
    case "alert-raised": {
      if (event.metric === "offline") {
        const silent = event.value === null ? "silent" : `silent ${multiples(event.value)} its expected interval`;
        return { tone: "alert", title: "Device offline", detail: `${event.deviceId ?? "a device"}: ${silent}, more than ${multiples(event.threshold)} (rule ${event.ruleId})` };
      }
      const value = event.value === null ? "no data" : metricValue(event.metric, event.value, unit);
      return {
        tone: "alert",
        title: "Alert raised",
        detail: `${event.deviceId ?? "the location"}: ${event.metric} ${value}, ${event.op} ${metricValue(event.metric, event.threshold, unit)} (${samplesOf(event.metric, event.samples)}; rule ${event.ruleId})`,
      };
    }
    case "alert-cleared": {
      if (event.metric === "offline") return { tone: "clear", title: "Device back", detail: `${event.deviceId ?? "a device"}: no longer offline (rule ${event.ruleId})` };
      const value = event.value === null ? "no data left in the window" : `${event.metric} back to ${metricValue(event.metric, event.value, unit)}`;
      return { tone: "clear", title: "Alert cleared", detail: `${event.deviceId ?? "the location"}: ${value} (rule ${event.ruleId})` };
    }
    case "command-issued":
      return { tone: "command", title: "Command sent", detail: `"${event.payload}" to ${event.deviceId}` };
    case "command-delivered":
      return { tone: "command", title: "Command delivered", detail: `to ${event.deviceId}` };
    case "rules-set":
      return {
        tone: "info",
        title: "Rules changed",
        detail: event.rules.length === 0 ? "no rules" : event.rules.map((r) => r.id).join(", "),
      };
    case "notification-queued":
      return { tone: "info", title: "Notification pending", detail: `${event.event === "alert-cleared" ? "clear" : event.event === "digest" ? "digest" : "alert"} ${event.alertId} to ${event.channelId}` };
    case "notification-sent":
      return { tone: "info", title: "Notification sent", detail: `${event.notificationId} (HTTP ${event.status}, ${attemptsOf(event.attempts)})` };
    case "notification-failed":
      return { tone: "alert", title: "Notification failed", detail: `${event.notificationId}: ${event.error} (${attemptsOf(event.attempts)})` };
    case "alert-acknowledged":
      return { tone: "clear", title: "Alert acknowledged", detail: `${event.alertId}${event.comment === null ? "" : `: “${event.comment}”`}` };
    case "device-profiles-set":
      return { tone: "info", title: "Devices registered", detail: event.profiles.map(profileLine).join(", ") };
    case "settings-set":
      return { tone: "info", title: "Settings changed", detail: `${event.settings.timeZone}${event.settings.openingHours ? ", opening hours set" : ", always open"}` };
    case "digest-due":
      return { tone: "info", title: "Daily digest", detail: event.digest.date };
  }
}

function profileLine({ deviceId, profile }: Extract<ActionEvent, { type: "device-profiles-set" }>["profiles"][number]): string {
  if (profile === null) return `${deviceId} no longer here`;
  const every = profile.expectedIntervalSeconds === null ? "no interval" : `every ${profile.expectedIntervalSeconds} s`;
  return `${profile.name ?? deviceId} (${every}${profile.enabled ? "" : ", disabled"})`;
}

export const isAction = (event: LogEvent): event is ActionEvent => event.type !== "reading";
