import type { IngestEvent, LogEvent } from "../../protocol";
import type { DigestDueEntry, Entry } from "../../domain/location/entries";
import { isoString } from "../../protocol/time";
import { insertRows, selectIn, type WriteMeter } from "../sql";

export type EventRow = {
  id: string;
  seq: number;
  type: string;
  /** '' for entries of no device (rules, alerts' causes…): part of the primary key, so never null. */
  device_id: string;
  occurred_at: number;
  recorded_at: number;
  vote: number | null;
  temperature: number | null;
  humidity: number | null;
  data: string | null;
};

const EVENT_FIELDS = ["id", "seq", "type", "device_id", "occurred_at", "recorded_at", "vote", "temperature", "humidity", "data"] as const;
const EVENT_COLUMNS = EVENT_FIELDS.join(", ");

const keyOf = (deviceId: string, id: string): string => `${deviceId}\u0000${id}`;

/** An entry as a row: readings in columns (projections fold them), properties and every other kind's fields in `data`. */
export function toRow(e: Entry): EventRow {
  const common = { id: e.id, seq: e.seq, type: e.type, occurred_at: e.occurredAt, recorded_at: e.recordedAt };
  if (e.type === "reading") {
    return {
      ...common,
      device_id: e.deviceId,
      vote: e.vote ?? null,
      temperature: e.temperature ?? null,
      humidity: e.humidity ?? null,
      data: e.properties ? JSON.stringify({ properties: e.properties }) : null,
    };
  }
  const { id: _i, seq: _s, type: _t, occurredAt: _o, recordedAt: _r, ...fields } = e;
  const { deviceId, ...data } = fields as typeof fields & { deviceId?: string };
  return { ...common, device_id: deviceId ?? "", vote: null, temperature: null, humidity: null, data: JSON.stringify(data) };
}

/** A row back as the entry it was written from. */
export function toEntry(row: EventRow): Entry {
  const common = { id: row.id, seq: row.seq, occurredAt: row.occurred_at, recordedAt: row.recorded_at };
  const data = row.data ? (JSON.parse(row.data) as Record<string, unknown>) : {};
  if (row.type === "reading") {
    return {
      ...common,
      type: "reading",
      deviceId: row.device_id,
      ...(row.vote !== null && { vote: row.vote as 0 | 0.5 | 1 }),
      ...(row.temperature !== null && { temperature: row.temperature }),
      ...(row.humidity !== null && { humidity: row.humidity }),
      ...(data.properties !== undefined && { properties: data.properties as Record<string, string> }),
    };
  }
  // Written only by this object from typed entries (toRow), so the shape is known.
  return { ...common, type: row.type, ...(row.device_id !== "" && { deviceId: row.device_id }), ...data } as Entry;
}

/** An entry as the read API and live frames carry it. */
export function toLogEvent(e: Entry): LogEvent {
  // Entry and LogEvent differ only in their times (epoch ms here, ISO 8601 on the wire).
  return { ...e, occurredAt: isoString(e.occurredAt), recordedAt: isoString(e.recordedAt) } as LogEvent;
}

/**
 * The location's append-only log: `events` keyed by id (the exactly-once
 * check) and `commits`, one row per batch mapping seq ranges to ids.
 */
export class EventLog {
  constructor(private readonly sql: SqlStorage) {}

  /** Newest seq (0 when empty) and when it was recorded. */
  head(): { head: number; recordedAt: number | null } {
    const last = this.sql
      .exec<{ first_seq: number; count: number; recorded_at: number }>(
        "SELECT first_seq, count, recorded_at FROM commits ORDER BY first_seq DESC LIMIT 1",
      )
      .toArray()[0];
    return { head: last ? last.first_seq + last.count - 1 : 0, recordedAt: last?.recorded_at ?? null };
  }

  /**
   * Sorts a batch against the log, by (device, id): new events; duplicates
   * (the same device and id again, with the same readings); conflicts (the
   * same device and id with other readings: the first stored wins, the rest
   * are reported). A device's ids are its own: another device's same id is
   * another event. The caller appends the new ones in the same synchronous
   * turn, so the check and the insert cannot interleave with another request.
   */
  sortOut(events: readonly IngestEvent[]): { fresh: IngestEvent[]; duplicates: number[]; conflicts: number[] } {
    type Held = { vote: number | null; temperature: number | null; humidity: number | null };
    const held = new Map<string, Held>();
    const rows = selectIn<{ id: string; device_id: string } & Held>(this.sql, "id, device_id, vote, temperature, humidity", "events", "id", [
      ...new Set(events.map((e) => e.id)),
    ]);
    for (const r of rows) held.set(keyOf(r.device_id, r.id), r);
    const out = { fresh: [] as IngestEvent[], duplicates: [] as number[], conflicts: [] as number[] };
    events.forEach((e, index) => {
      const key = keyOf(e.deviceId, e.id);
      const mine: Held = { vote: e.vote ?? null, temperature: e.temperature ?? null, humidity: e.humidity ?? null };
      const before = held.get(key);
      if (!before) {
        held.set(key, mine);
        out.fresh.push(e);
      } else if (before.vote === mine.vote && before.temperature === mine.temperature && before.humidity === mine.humidity) {
        out.duplicates.push(index);
      } else {
        out.conflicts.push(index);
      }
    });
    return out;
  }

  /** Appends allocated entries (consecutive seqs, one recorded time) as one commit. */
  append(meter: WriteMeter, entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const rows = entries.map(toRow);
    insertRows(meter, "events", EVENT_FIELDS, rows.map((r) => EVENT_FIELDS.map((f) => r[f])));
    meter.run(
      "INSERT INTO commits (first_seq, count, recorded_at, ids) VALUES (?, ?, ?, ?)",
      rows[0]!.seq,
      rows.length,
      rows[0]!.recorded_at,
      JSON.stringify(rows.map((r) => r.id)),
    );
  }

  /** Entries with seq in (after, upTo], in seq order. */
  entries(after: number, upTo: number): Entry[] {
    if (upTo <= after) return [];
    // The commit holding seq after+1 starts at or before it; later commits follow in order.
    const commits = this.sql
      .exec<{ first_seq: number; ids: string }>(
        `SELECT first_seq, ids FROM commits
         WHERE first_seq >= (SELECT coalesce(max(first_seq), 0) FROM commits WHERE first_seq <= ?) AND first_seq <= ?
         ORDER BY first_seq`,
        after + 1,
        upTo,
      )
      .toArray();
    const wanted: string[] = [];
    for (const c of commits) {
      const ids = JSON.parse(c.ids) as string[];
      ids.forEach((id, i) => {
        const seq = c.first_seq + i;
        if (seq > after && seq <= upTo) wanted.push(id);
      });
    }
    // Two devices may share an id: keep only the rows of the seqs asked for.
    return selectIn<EventRow>(this.sql, EVENT_COLUMNS, "events", "id", [...new Set(wanted)])
      .filter((r) => r.seq > after && r.seq <= upTo)
      .map(toEntry)
      .sort((a, b) => a.seq - b.seq);
  }

  /** The newest `digest-due` entry (null: none yet), by the partial index `events_digest_due` (schema version 7). */
  lastDigest(): DigestDueEntry | null {
    const row = this.sql.exec<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE type = 'digest-due' ORDER BY seq DESC LIMIT 1`).toArray()[0];
    return row ? (toEntry(row) as DigestDueEntry) : null;
  }

  /** Every entry but readings (rules, alerts, commands), in seq order: what the action projections are rebuilt from. */
  *systemEntries(): Generator<Entry> {
    for (const row of this.sql.exec<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE type != 'reading' ORDER BY seq`)) yield toEntry(row);
  }
}
