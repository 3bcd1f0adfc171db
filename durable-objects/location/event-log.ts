import type { IngestEvent, LogEvent, LogEventType } from "../../protocol";
import type { ReadingFact } from "../../domain/projections";
import { isoString } from "../../protocol/time";
import { insertRows, selectIn, type WriteMeter } from "../sql";

export type EventRow = {
  id: string;
  seq: number;
  type: string;
  device_id: string | null;
  occurred_at: number;
  recorded_at: number;
  vote: number | null;
  temperature: number | null;
  humidity: number | null;
  data: string | null;
};

const EVENT_FIELDS = ["id", "seq", "type", "device_id", "occurred_at", "recorded_at", "vote", "temperature", "humidity", "data"] as const;
const EVENT_COLUMNS = EVENT_FIELDS.join(", ");

/** A log row before it is appended: the log assigns `seq` and `recorded_at`. */
export type NewEntry = Omit<EventRow, "seq" | "recorded_at">;

/** A device reading as a log row: readings in columns (projections fold them), properties in `data`. */
export function readingEntry(e: IngestEvent): NewEntry {
  return {
    id: e.id,
    type: "reading",
    device_id: e.deviceId,
    occurred_at: e.occurredAt,
    vote: e.vote ?? null,
    temperature: e.temperature ?? null,
    humidity: e.humidity ?? null,
    data: e.properties ? JSON.stringify({ properties: e.properties }) : null,
  };
}

/** Any other entry (rules, alerts, commands): its type-specific fields in `data`. */
export function dataEntry(id: string, type: Exclude<LogEventType, "reading">, deviceId: string | null, occurredAt: number, data: object): NewEntry {
  return { id, type, device_id: deviceId, occurred_at: occurredAt, vote: null, temperature: null, humidity: null, data: JSON.stringify(data) };
}

/** A log row as the read API and live frames carry it. */
export function toLogEvent(row: EventRow): LogEvent {
  const common = { seq: row.seq, id: row.id, occurredAt: isoString(row.occurred_at), recordedAt: isoString(row.recorded_at) };
  const data = row.data ? (JSON.parse(row.data) as Record<string, unknown>) : {};
  if (row.type !== "reading") {
    // Written only by this object from typed actions (see dataEntry), so the shape is known.
    return { ...common, type: row.type, ...(row.device_id !== null && { deviceId: row.device_id }), ...data } as LogEvent;
  }
  return {
    ...common,
    type: "reading",
    deviceId: row.device_id ?? "",
    ...(row.vote !== null && { vote: row.vote as 0 | 0.5 | 1 }),
    ...(row.temperature !== null && { temperature: row.temperature }),
    ...(row.humidity !== null && { humidity: row.humidity }),
    ...(data.properties !== undefined && { properties: data.properties as Record<string, string> }),
  };
}

/** The projections' view of a reading row. */
export function readingFact(row: EventRow): ReadingFact | null {
  if (row.type !== "reading" || row.device_id === null) return null;
  return {
    deviceId: row.device_id,
    occurredAt: row.occurred_at,
    ...(row.vote !== null && { vote: row.vote as 0 | 0.5 | 1 }),
    ...(row.temperature !== null && { temperature: row.temperature }),
    ...(row.humidity !== null && { humidity: row.humidity }),
  };
}

/**
 * The location's append-only log: `events` keyed by id (the exactly-once
 * check) and `commits`, one row per batch mapping seq ranges to ids.
 */
export class EventLog {
  /** Newest seq (0 when empty) and when it was recorded. Cached; `reload` after a rolled-back write. */
  head = 0;
  lastRecordedAt: number | null = null;

  constructor(private readonly sql: SqlStorage) {
    this.reload();
  }

  reload(): void {
    const last = this.sql
      .exec<{ first_seq: number; count: number; recorded_at: number }>(
        "SELECT first_seq, count, recorded_at FROM commits ORDER BY first_seq DESC LIMIT 1",
      )
      .toArray()[0];
    this.head = last ? last.first_seq + last.count - 1 : 0;
    this.lastRecordedAt = last?.recorded_at ?? null;
  }

  /**
   * Drops events whose id is already in the log or earlier in the same batch.
   * Runs inside the append's transaction, so the check and the insert are atomic.
   */
  onlyNew(events: readonly IngestEvent[]): IngestEvent[] {
    const stored = new Set(selectIn<{ id: string }>(this.sql, "id", "events", "id", events.map((e) => e.id)).map((r) => r.id));
    const fresh: IngestEvent[] = [];
    for (const e of events) {
      if (stored.has(e.id)) continue;
      stored.add(e.id);
      fresh.push(e);
    }
    return fresh;
  }

  /** Appends entries (ids already checked new) with the next seqs, as one commit; returns them as log events. */
  append(meter: WriteMeter, entries: readonly NewEntry[], recordedAt: number): LogEvent[] {
    if (entries.length === 0) return [];
    const first = this.head + 1;
    const rows: EventRow[] = entries.map((e, i) => ({ ...e, seq: first + i, recorded_at: recordedAt }));
    insertRows(meter, "events", EVENT_FIELDS, rows.map((r) => EVENT_FIELDS.map((f) => r[f])));
    meter.run(
      "INSERT INTO commits (first_seq, count, recorded_at, ids) VALUES (?, ?, ?, ?)",
      first,
      rows.length,
      recordedAt,
      JSON.stringify(rows.map((r) => r.id)),
    );
    this.head = first + rows.length - 1;
    this.lastRecordedAt = recordedAt;
    return rows.map(toLogEvent);
  }

  /** Events with seq in (after, after + limit], in seq order. */
  range(after: number, limit: number): LogEvent[] {
    const upTo = Math.min(this.head, after + limit);
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
    return this.byIds(wanted);
  }

  /** The newest `n` events, oldest first. */
  recent(n: number): LogEvent[] {
    const after = Math.max(0, this.head - n);
    return this.range(after, n);
  }

  /** Every entry in seq order, for rebuilding projections. */
  *all(): Generator<EventRow> {
    yield* this.sql.exec<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY seq`);
  }

  private byIds(ids: readonly string[]): LogEvent[] {
    return selectIn<EventRow>(this.sql, EVENT_COLUMNS, "events", "id", ids)
      .map(toLogEvent)
      .sort((a, b) => a.seq - b.seq);
  }
}

