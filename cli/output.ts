import type { LogEvent } from "../protocol";

/** Aligns rows under their headers (numbers right-aligned), for people; `--json` bypasses it. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === "number"));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

/** `key  value` lines. */
export function keyValues(entries: [string, string | number | null][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${v === null ? "-" : v}`).join("\n");
}

export const fixed = (n: number | null, digits: number): string | null => (n === null ? null : n.toFixed(digits));

/** One line per log entry: seq, when it was recorded, its type and what it says. */
export function eventLine(e: LogEvent): string {
  const head = `${String(e.seq).padStart(6)}  ${e.recordedAt}  ${e.type.padEnd(17)}`;
  switch (e.type) {
    case "reading": {
      const parts = [
        e.vote !== undefined ? `vote=${e.vote}` : null,
        e.temperature !== undefined ? `temperature=${e.temperature}` : null,
        e.humidity !== undefined ? `humidity=${e.humidity}` : null,
      ].filter((p) => p !== null);
      return `${head}  ${e.deviceId}  ${parts.join(" ")}`;
    }
    case "rules-set":
      return `${head}  ${e.rules.length} rule(s): ${e.rules.map((r) => r.id).join(", ") || "none"}`;
    case "alert-raised":
    case "alert-cleared":
      return `${head}  ${e.deviceId ?? "(location)"}  ${e.ruleId}: ${e.metric} ${e.op} ${e.threshold} (value ${e.value ?? "-"}, ${e.samples} samples)`;
    case "command-issued":
      return `${head}  ${e.deviceId}  ${JSON.stringify(e.payload)} (rule ${e.ruleId ?? "-"})`;
    case "command-delivered":
      return `${head}  ${e.deviceId}  ${e.commandId}`;
    case "notification-queued":
      return `${head}  ${e.notificationId}  ${e.event} to ${e.channelId}`;
    case "notification-sent":
      return `${head}  ${e.notificationId}  HTTP ${e.status} after ${e.attempts} attempt(s)`;
    case "notification-failed":
      return `${head}  ${e.notificationId}  ${e.error} (HTTP ${e.status ?? "-"}, ${e.attempts} attempt(s))`;
    case "alert-acknowledged":
      return `${head}  ${e.alertId}${e.comment === null ? "" : `  ${JSON.stringify(e.comment)}`}`;
    case "device-profiles-set":
      return `${head}  ${e.profiles
        .map(({ deviceId, profile }) => (profile === null ? `${deviceId} removed` : `${deviceId} every ${profile.expectedIntervalSeconds ?? "-"} s${profile.enabled ? "" : " (disabled)"}`))
        .join(", ")}`;
    case "settings-set":
      return `${head}  ${e.settings.timeZone}${e.settings.openingHours ? ", opening hours set" : ", always open"}`;
    case "digest-due":
      return `${head}  ${e.digest.date}  daily digest due ${e.occurredAt}`;
  }
}
