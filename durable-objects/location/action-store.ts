import { DEFAULT_RULES, type ActiveAlert, type AlertsResponse, type LogEvent, type Rule } from "../../protocol";
import { isoString } from "../../protocol/time";
import { alertKey } from "../../domain/rules";
import type { WriteMeter } from "../sql";
import { ACTION_TABLES } from "./schema";

export type CommandState = AlertsResponse["commands"][number];

type CommandRow = {
  seq: number;
  id: string;
  device_id: string;
  payload: string;
  rule_id: string | null;
  issued_at: number;
  delivered_at: number | null;
};
const toCommand = (r: CommandRow): CommandState => ({
  seq: r.seq,
  id: r.id,
  deviceId: r.device_id,
  payload: r.payload,
  ruleId: r.rule_id,
  issuedAt: isoString(r.issued_at),
  deliveredAt: r.delivered_at === null ? null : isoString(r.delivered_at),
});

/**
 * Projections of the action entries of the log: the rule set in force, the
 * alerts currently raised and every command with its delivery. `record` is the
 * one way they change, for a live batch and for a rebuild alike, so both give
 * the same rows. Rules and raised alerts are cached: every batch consults them.
 */
export class ActionStore {
  rules: Rule[] = DEFAULT_RULES;
  rulesSeq: number | null = null;
  raised = new Set<string>();

  constructor(private readonly sql: SqlStorage) {
    this.load();
  }

  load(): void {
    const set = this.sql.exec<{ seq: number; rules: string }>("SELECT seq, rules FROM rule_set").toArray()[0];
    this.rules = set ? (JSON.parse(set.rules) as Rule[]) : DEFAULT_RULES;
    this.rulesSeq = set?.seq ?? null;
    this.raised = new Set(
      this.sql
        .exec<{ rule_id: string; device_id: string }>("SELECT rule_id, device_id FROM alerts")
        .toArray()
        .map((r) => alertKey(r.rule_id, r.device_id)),
    );
  }

  /** Applies committed log entries; readings are ignored here. */
  record(meter: WriteMeter, events: readonly LogEvent[]): void {
    for (const e of events) {
      const at = Date.parse(e.occurredAt);
      switch (e.type) {
        case "reading":
          break;
        case "rules-set":
          meter.run(
            "INSERT INTO rule_set (singleton, seq, rules) VALUES (1, ?, ?) ON CONFLICT(singleton) DO UPDATE SET seq = excluded.seq, rules = excluded.rules",
            e.seq,
            JSON.stringify(e.rules),
          );
          this.rules = e.rules;
          this.rulesSeq = e.seq;
          break;
        case "alert-raised":
          meter.run(
            "INSERT INTO alerts (rule_id, device_id, seq, raised_at, value, samples) VALUES (?, ?, ?, ?, ?, ?)",
            e.ruleId,
            e.deviceId,
            e.seq,
            at,
            e.value,
            e.samples,
          );
          this.raised.add(alertKey(e.ruleId, e.deviceId));
          break;
        case "alert-cleared":
          meter.run("DELETE FROM alerts WHERE rule_id = ? AND device_id = ?", e.ruleId, e.deviceId);
          this.raised.delete(alertKey(e.ruleId, e.deviceId));
          break;
        case "command-issued":
          meter.run(
            "INSERT INTO commands (seq, id, device_id, payload, rule_id, issued_at) VALUES (?, ?, ?, ?, ?, ?)",
            e.seq,
            e.id,
            e.deviceId,
            e.payload,
            e.ruleId,
            at,
          );
          break;
        case "command-delivered":
          meter.run("UPDATE commands SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL", at, e.commandId);
          break;
      }
    }
  }

  /** Empties the action projections and replays every entry of the log. */
  rebuild(meter: WriteMeter, log: Iterable<LogEvent>): void {
    for (const table of ACTION_TABLES) meter.run(`DELETE FROM ${table}`);
    this.load();
    for (const e of log) this.record(meter, [e]);
  }

  activeAlerts(): ActiveAlert[] {
    return this.sql
      .exec<{ rule_id: string; device_id: string; seq: number; raised_at: number; value: number | null; samples: number }>(
        "SELECT rule_id, device_id, seq, raised_at, value, samples FROM alerts ORDER BY seq",
      )
      .toArray()
      .map((r) => ({ ruleId: r.rule_id, deviceId: r.device_id, seq: r.seq, raisedAt: isoString(r.raised_at), value: r.value, samples: r.samples }));
  }

  /** The newest `n` commands, newest first. */
  recentCommands(n: number): CommandState[] {
    return this.sql.exec<CommandRow>("SELECT * FROM commands ORDER BY seq DESC LIMIT ?", n).toArray().map(toCommand);
  }

  command(id: string): CommandState | null {
    const row = this.sql.exec<CommandRow>("SELECT * FROM commands WHERE id = ?", id).toArray()[0];
    return row ? toCommand(row) : null;
  }

  /** Rows of the action projections, for comparing an incremental build with a rebuild. */
  dump(): Record<(typeof ACTION_TABLES)[number], unknown[]> {
    return {
      rule_set: this.sql.exec("SELECT * FROM rule_set").toArray(),
      alerts: this.sql.exec("SELECT * FROM alerts ORDER BY rule_id, device_id").toArray(),
      commands: this.sql.exec("SELECT * FROM commands ORDER BY seq").toArray(),
    };
  }
}
