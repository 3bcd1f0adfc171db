import type { IngestEvent, LogEvent } from "../../protocol";
import { isoString } from "../../protocol/time";
import { insertRows, selectIn, type WriteMeter } from "../sql";

type EventRow = {
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

/** A log row as the read API and live frames carry it. */
export function toLogEvent(row: EventRow): LogEvent {
  const data = row.data ? (JSON.parse(row.data) as { properties?: Record<string, string> }) : {};
  return {
    seq: row.seq,
    id: row.id,
    type: "reading",
    deviceId: row.device_id ?? "",
    occurredAt: isoString(row.occurred_at),
    recordedAt: isoString(row.recorded_at),
    ...(row.vote !== null && { vote: row.vote as 0 | 0.5 | 1 }),
    ...(row.temperature !== null && { temperature: row.temperature }),
    ...(row.humidity !== null && { humidity: row.humidity }),
    ...(data.properties && { properties: data.properties }),
  };
}

function toRow(e: IngestEvent, seq: number, recordedAt: number): EventRow {
  return {
    id: e.id,
    seq,
    type: "reading",
    device_id: e.deviceId,
    occurred_at: e.occurredAt,
    recorded_at: recordedAt,
    vote: e.vote ?? null,
    temperature: e.temperature ?? null,
    humidity: e.humidity ?? null,
    data: e.properties ? JSON.stringify({ properties: e.properties }) : null,
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

  /** Appends already-deduplicated events with the next seqs; returns them as log events. */
  append(meter: WriteMeter, events: readonly IngestEvent[], recordedAt: number): LogEvent[] {
    if (events.length === 0) return [];
    const first = this.head + 1;
    const rows = events.map((e, i) => toRow(e, first + i, recordedAt));
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

  /** Every reading in seq order, for rebuilding projections. */
  *all(): Generator<EventRow> {
    yield* this.sql.exec<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY seq`);
  }

  private byIds(ids: readonly string[]): LogEvent[] {
    return selectIn<EventRow>(this.sql, EVENT_COLUMNS, "events", "id", ids)
      .map(toLogEvent)
      .sort((a, b) => a.seq - b.seq);
  }
}

export type { EventRow };
