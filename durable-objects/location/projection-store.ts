import type { HourSummary, ScoreWindow } from "../../protocol";
import {
  emptyProjectionSet,
  evolve,
  touchedKeys,
  type DeviceState,
  type HourBucket,
  type MinuteBucket,
  type ProjectionSet,
  type ReadingFact,
} from "../../domain/projections";
import { packTally, unpackTally, type PackedTally, type Tally } from "../../domain/tally";
import { windowStart } from "../../domain/time-buckets";
import { hourlySeries, scoreWindowAt } from "../../domain/window";
import { PROJECTION_TABLES } from "./schema";
import { insertRows, selectIn, type WriteMeter } from "../sql";

type TallyColumns = {
  votes: number;
  vote_sum: number;
  temperature_count: number;
  temperature_sum: number;
  humidity_count: number;
  humidity_sum: number;
};
type BucketRow = TallyColumns & { start: number; devices: string };
type DeviceRow = {
  device_id: string;
  last_seen_at: number;
  vote: number | null;
  vote_at: number | null;
  temperature: number | null;
  temperature_at: number | null;
  humidity: number | null;
  humidity_at: number | null;
};

const BUCKET_FIELDS = ["start", "votes", "vote_sum", "temperature_count", "temperature_sum", "humidity_count", "humidity_sum", "devices"];
const DEVICE_FIELDS = ["device_id", "last_seen_at", "vote", "vote_at", "temperature", "temperature_at", "humidity", "humidity_at"];
const BUCKET_COLUMNS = BUCKET_FIELDS.join(", ");
const DEVICE_COLUMNS = DEVICE_FIELDS.join(", ");
/** UPSERT tail: replace every column but the key (an UPSERT bills one row, insert or update). */
const upsert = (fields: string[]) =>
  `ON CONFLICT(${fields[0]}) DO UPDATE SET ${fields
    .slice(1)
    .map((c) => `${c} = excluded.${c}`)
    .join(", ")}`;

const tallyOf = (r: TallyColumns): Tally => ({
  votes: r.votes,
  voteSum: r.vote_sum,
  temperatureCount: r.temperature_count,
  temperatureSum: r.temperature_sum,
  humidityCount: r.humidity_count,
  humiditySum: r.humidity_sum,
});

function decodeMinute(r: BucketRow): MinuteBucket {
  const devices = new Map((JSON.parse(r.devices) as [string, PackedTally][]).map(([id, p]) => [id, unpackTally(p)]));
  return { start: r.start, tally: tallyOf(r), devices };
}
function decodeHour(r: BucketRow): HourBucket {
  return { start: r.start, tally: tallyOf(r), devices: new Set(JSON.parse(r.devices) as string[]) };
}
const reading = (value: number | null, at: number | null) => (value !== null && at !== null ? { value, at } : null);
function decodeDevice(r: DeviceRow): DeviceState {
  return {
    deviceId: r.device_id,
    lastSeenAt: r.last_seen_at,
    vote: reading(r.vote, r.vote_at),
    temperature: reading(r.temperature, r.temperature_at),
    humidity: reading(r.humidity, r.humidity_at),
  };
}
/** Device lists are stored sorted, so equal state always gives equal rows. */
const byKey = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Reads and writes the projection tables. Folding itself is the pure
 * `evolve` of domain/projections; this class only moves rows in and out.
 */
export class ProjectionStore {
  /**
   * The minute buckets from `recentFrom` on, decoded: every batch judges its
   * devices on the window and every frame carries it, so they are read from
   * SQL once and then kept current by `save` (this object is the only
   * writer). `forget()` drops them after a rolled-back transaction.
   */
  private recent: Map<number, MinuteBucket> | null = null;
  private recentFrom = 0;

  constructor(private readonly sql: SqlStorage) {}

  forget(): void {
    this.recent = null;
  }

  /**
   * Folds a batch into the projections: load each touched row once, fold every
   * fact, write each touched row once (so rows written grow with buckets and
   * devices touched, not with events).
   */
  apply(meter: WriteMeter, facts: readonly ReadingFact[]): void {
    if (facts.length === 0) return;
    const keys = touchedKeys(facts);
    const set = emptyProjectionSet();
    for (const r of selectIn<BucketRow>(this.sql, BUCKET_COLUMNS, "minutes", "start", keys.minutes)) {
      set.minutes.set(r.start, decodeMinute(r));
    }
    for (const r of selectIn<BucketRow>(this.sql, BUCKET_COLUMNS, "hours", "start", keys.hours)) {
      set.hours.set(r.start, decodeHour(r));
    }
    for (const r of selectIn<DeviceRow>(this.sql, DEVICE_COLUMNS, "devices", "device_id", keys.devices)) {
      set.devices.set(r.device_id, decodeDevice(r));
    }
    for (const f of facts) evolve(set, f);
    this.save(meter, set);
  }

  /** Empties every projection and refolds the whole log, in seq order. */
  rebuild(meter: WriteMeter, log: Iterable<ReadingFact>): void {
    this.forget();
    for (const table of PROJECTION_TABLES) meter.run(`DELETE FROM ${table}`);
    const set = emptyProjectionSet();
    for (const fact of log) evolve(set, fact);
    this.save(meter, set);
  }

  private save(meter: WriteMeter, set: ProjectionSet): void {
    const minutes = [...set.minutes.values()].map((m) => [
      m.start,
      ...packTally(m.tally),
      JSON.stringify(byKey([...m.devices].map(([id, t]) => [id, packTally(t)]))),
    ]);
    const hours = [...set.hours.values()].map((h) => [h.start, ...packTally(h.tally), JSON.stringify([...h.devices].sort())]);
    const devices = [...set.devices.values()].map((d) => [
      d.deviceId,
      d.lastSeenAt,
      d.vote?.value ?? null,
      d.vote?.at ?? null,
      d.temperature?.value ?? null,
      d.temperature?.at ?? null,
      d.humidity?.value ?? null,
      d.humidity?.at ?? null,
    ]);
    insertRows(meter, "minutes", BUCKET_FIELDS, minutes, upsert(BUCKET_FIELDS));
    if (this.recent) for (const m of set.minutes.values()) if (m.start >= this.recentFrom) this.recent.set(m.start, m);
    insertRows(meter, "hours", BUCKET_FIELDS, hours, upsert(BUCKET_FIELDS));
    insertRows(meter, "devices", DEVICE_FIELDS, devices, upsert(DEVICE_FIELDS));
  }

  /** Minute buckets of the live window at `now`. */
  windowBuckets(now: number): MinuteBucket[] {
    const from = windowStart(now);
    if (!this.recent || from < this.recentFrom) {
      const rows = this.sql.exec<BucketRow>(`SELECT ${BUCKET_COLUMNS} FROM minutes WHERE start >= ?`, from).toArray();
      this.recent = new Map(rows.map((r) => [r.start, decodeMinute(r)]));
      this.recentFrom = from;
    }
    for (const start of this.recent.keys()) if (start < from) this.recent.delete(start);
    this.recentFrom = from;
    return [...this.recent.values()];
  }

  window(now: number): ScoreWindow {
    return scoreWindowAt(this.windowBuckets(now), now);
  }

  hourly(from: number, to: number): HourSummary[] {
    const rows = this.sql
      .exec<BucketRow>(`SELECT ${BUCKET_COLUMNS} FROM hours WHERE start >= ? AND start < ? ORDER BY start`, from, to)
      .toArray();
    return hourlySeries(rows.map(decodeHour), from, to);
  }

  devices(): DeviceState[] {
    return this.sql.exec<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY device_id`).toArray().map(decodeDevice);
  }

  /** Every projection row, for comparing an incremental build with a rebuild. */
  dump(): Record<(typeof PROJECTION_TABLES)[number], unknown[]> {
    return {
      minutes: this.sql.exec(`SELECT * FROM minutes ORDER BY start`).toArray(),
      hours: this.sql.exec(`SELECT * FROM hours ORDER BY start`).toArray(),
      devices: this.sql.exec(`SELECT * FROM devices ORDER BY device_id`).toArray(),
    };
  }
}
