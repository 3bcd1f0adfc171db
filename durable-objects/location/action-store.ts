import type { ActiveAlert, AlertsResponse, Rule } from "../../protocol";
import { isoString } from "../../protocol/time";
import type { KnownCommand } from "../../domain/location/decide";
import type { Entry } from "../../domain/location/entries";
import { normalizeRules, type LocationState } from "../../domain/location/state";
import { LOCATION_KEY, alertKey } from "../../domain/rules";
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
 * alerts currently raised and every command with its delivery. They are
 * written with the entries (they change rarely, so this costs rows only when
 * something happens) and `record` is the one way they change, for a live
 * commit and a rebuild alike. The decider's copy of rules and raised alerts
 * lives in the location's state, loaded from here.
 */
export class ActionStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Puts the rule set and the raised alerts into `state`. */
  loadInto(state: LocationState): void {
    const set = this.sql.exec<{ seq: number; rules: string }>("SELECT seq, rules FROM rule_set").toArray()[0];
    if (set) {
      state.rules = normalizeRules(JSON.parse(set.rules) as Rule[]);
      state.rulesSeq = set.seq;
    }
    state.raised = new Set(
      this.sql
        .exec<{ rule_id: string; device_id: string }>("SELECT rule_id, device_id FROM alerts")
        .toArray()
        .map((r) => alertKey(r.rule_id, r.device_id)),
    );
  }

  /** Applies committed entries; readings are not its concern. */
  record(meter: WriteMeter, entries: readonly Entry[]): void {
    for (const e of entries) {
      switch (e.type) {
        case "reading":
          break;
        case "rules-set":
          meter.run(
            "INSERT INTO rule_set (singleton, seq, rules) VALUES (1, ?, ?) ON CONFLICT(singleton) DO UPDATE SET seq = excluded.seq, rules = excluded.rules",
            e.seq,
            JSON.stringify(e.rules),
          );
          break;
        case "alert-raised":
          meter.run(
            "INSERT INTO alerts (rule_id, device_id, seq, raised_at, value, samples) VALUES (?, ?, ?, ?, ?, ?)",
            e.ruleId,
            e.deviceId ?? LOCATION_KEY,
            e.seq,
            e.occurredAt,
            e.value,
            e.samples,
          );
          break;
        case "alert-cleared":
          meter.run("DELETE FROM alerts WHERE rule_id = ? AND device_id = ?", e.ruleId, e.deviceId ?? LOCATION_KEY);
          break;
        case "command-issued":
          meter.run(
            "INSERT INTO commands (seq, id, device_id, payload, rule_id, issued_at) VALUES (?, ?, ?, ?, ?, ?)",
            e.seq,
            e.id,
            e.deviceId,
            e.payload,
            e.ruleId,
            e.occurredAt,
          );
          break;
        case "command-delivered":
          meter.run("UPDATE commands SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL", e.occurredAt, e.commandId);
          break;
      }
    }
  }

  /** Empties the action projections and replays every entry of the log. */
  rebuild(meter: WriteMeter, log: Iterable<Entry>): void {
    for (const table of ACTION_TABLES) meter.run(`DELETE FROM ${table}`);
    for (const e of log) this.record(meter, [e]);
  }

  activeAlerts(): ActiveAlert[] {
    return this.sql
      .exec<{ rule_id: string; device_id: string; seq: number; raised_at: number; value: number | null; samples: number }>(
        "SELECT rule_id, device_id, seq, raised_at, value, samples FROM alerts ORDER BY seq",
      )
      .toArray()
      .map((r) => ({ ruleId: r.rule_id, ...(r.device_id !== LOCATION_KEY && { deviceId: r.device_id }), seq: r.seq, raisedAt: isoString(r.raised_at), value: r.value, samples: r.samples }));
  }

  /** Undelivered commands after `after` (a command seq), oldest first: what the commands hub has not been handed yet. */
  undeliveredAfter(after: number, limit: number): CommandState[] {
    return this.sql
      .exec<CommandRow>("SELECT * FROM commands WHERE seq > ? AND delivered_at IS NULL ORDER BY seq LIMIT ?", after, limit)
      .toArray()
      .map(toCommand);
  }

  /** The newest `n` commands, newest first. */
  recentCommands(n: number): CommandState[] {
    return this.sql.exec<CommandRow>("SELECT * FROM commands ORDER BY seq DESC LIMIT ?", n).toArray().map(toCommand);
  }

  /** What the decider checks a delivery report against, for each id the location issued. */
  known(ids: readonly string[]): Map<string, KnownCommand> {
    const known = new Map<string, KnownCommand>();
    for (const id of new Set(ids)) {
      const row = this.sql.exec<{ device_id: string; delivered_at: number | null }>("SELECT device_id, delivered_at FROM commands WHERE id = ?", id).toArray()[0];
      if (row) known.set(id, { deviceId: row.device_id, delivered: row.delivered_at !== null });
    }
    return known;
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
