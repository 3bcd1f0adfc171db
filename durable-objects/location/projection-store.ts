import { decodeSketch, encodeSketch, type DeviceSketch } from "../../domain/device-count";
import { emptyProjectionSet, evolve, touchedKeys, type DeviceState, type HourBucket, type MinuteBucket, type ReadingFact } from "../../domain/projections";
import { emptyDirty, type LocationState } from "../../domain/location/state";
import { packTally, unpackTally, type StoredTally, type Tally } from "../../domain/tally";
import { hourStart } from "../../domain/time-buckets";
import { PROJECTION_TABLES } from "./schema";
import { insertRows, selectIn, type WriteMeter } from "../sql";

/** A tally's columns, as every bucket table (minutes, hours, the calendar's quarters) stores them. */
export type TallyColumns = {
  votes: number;
  vote_sum: number;
  temperature_count: number;
  temperature_sum: number;
  humidity_count: number;
  humidity_sum: number;
  sad: number;
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

/** Tally columns in `packTally`'s order (`sad` added by migration 6), then the devices cell. */
const BUCKET_FIELDS = ["start", "votes", "vote_sum", "temperature_count", "temperature_sum", "humidity_count", "humidity_sum", "sad", "devices"];
const DEVICE_FIELDS = ["device_id", "last_seen_at", "vote", "vote_at", "temperature", "temperature_at", "humidity", "humidity_at"];
const BUCKET_COLUMNS = BUCKET_FIELDS.join(", ");
const DEVICE_COLUMNS = DEVICE_FIELDS.join(", ");
/** UPSERT tail: replace every column but the key (an UPSERT bills one row, insert or update). */
const upsert = (fields: string[]) =>
  `ON CONFLICT(${fields[0]}) DO UPDATE SET ${fields
    .slice(1)
    .map((c) => `${c} = excluded.${c}`)
    .join(", ")}`;

export const tallyOf = (r: TallyColumns): Tally => ({
  votes: r.votes,
  voteSum: r.vote_sum,
  temperatureCount: r.temperature_count,
  temperatureSum: r.temperature_sum,
  humidityCount: r.humidity_count,
  humiditySum: r.humidity_sum,
  sad: r.sad,
});

/**
 * A bucket's `devices` cell: the JSON list of listed devices, or, once the
 * bucket is capped (domain/device-count), `{"listed": [...], "sketch": "..."}`.
 * Uncapped rows keep the plain list, so rows written before the cap read as before.
 */
type CappedCell<T> = { listed: T[]; sketch: string };
export function decodeCell<T>(cell: string): { listed: T[]; sketch?: DeviceSketch } {
  const parsed = JSON.parse(cell) as T[] | CappedCell<T>;
  return Array.isArray(parsed) ? { listed: parsed } : { listed: parsed.listed, sketch: decodeSketch(parsed.sketch) };
}
export const encodeCell = <T>(listed: T[], sketch: DeviceSketch | undefined): string =>
  JSON.stringify(sketch ? ({ listed, sketch: encodeSketch(sketch) } satisfies CappedCell<T>) : listed);

function decodeMinute(r: BucketRow): MinuteBucket {
  const { listed, sketch } = decodeCell<[string, StoredTally]>(r.devices);
  const devices = new Map(listed.map(([id, p]) => [id, unpackTally(p)]));
  return { start: r.start, tally: tallyOf(r), devices, ...(sketch && { sketch }) };
}
function decodeHour(r: BucketRow): HourBucket {
  const { listed, sketch } = decodeCell<string>(r.devices);
  return { start: r.start, tally: tallyOf(r), devices: new Set(listed), ...(sketch && { sketch }) };
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

const minuteRow = (m: MinuteBucket) => [m.start, ...packTally(m.tally), encodeCell(byKey([...m.devices].map(([id, t]) => [id, packTally(t)])), m.sketch)];
const hourRow = (h: HourBucket) => [h.start, ...packTally(h.tally), encodeCell([...h.devices].sort(), h.sketch)];
const deviceRow = (d: DeviceState) => [
  d.deviceId,
  d.lastSeenAt,
  d.vote?.value ?? null,
  d.vote?.at ?? null,
  d.temperature?.value ?? null,
  d.temperature?.at ?? null,
  d.humidity?.value ?? null,
  d.humidity?.at ?? null,
];

/** Devices kept decoded between checkpoints; beyond this the clean ones are dropped and re-read when touched. */
const DEVICES_KEPT = 10_000;

/**
 * Moves the reading projections between SQLite and the location's in-memory
 * state. Folding itself is the pure `evolve` of domain/projections.
 *
 * Rows are not written per batch: a batch folds into memory (marking rows
 * dirty) and `checkpoint` writes every dirty row at once, with the log seq it
 * covers. After a restart the object loads the checkpointed rows and folds the
 * log's tail after that seq again, so nothing is lost and rows written per
 * event stay near one (the event itself) even at one event per batch.
 */
export class ProjectionStore {
  constructor(private readonly sql: SqlStorage) {}

  /** The log seq the written projection rows include (0 before the first checkpoint). */
  checkpointSeq(): number {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'checkpoint'").toArray()[0];
    return row ? Number(row.value) : 0;
  }

  /** Reads every minute bucket from `from` on into the state (the windows rules and the score card look at). */
  loadRecent(state: LocationState, from: number): void {
    for (const r of this.sql.exec<BucketRow>(`SELECT ${BUCKET_COLUMNS} FROM minutes WHERE start >= ?`, from)) {
      if (!state.projections.minutes.has(r.start)) state.projections.minutes.set(r.start, decodeMinute(r));
    }
  }

  /** Reads the rows `facts` will fold into that are not in memory yet: a fold must start from the stored row. */
  loadTouched(state: LocationState, facts: readonly ReadingFact[]): void {
    if (facts.length === 0) return;
    const { minutes, hours, devices } = state.projections;
    const keys = touchedKeys(facts);
    const missing = <K>(wanted: K[], have: Map<K, unknown>) => wanted.filter((k) => !have.has(k));
    for (const r of selectIn<BucketRow>(this.sql, BUCKET_COLUMNS, "minutes", "start", missing(keys.minutes, minutes))) {
      minutes.set(r.start, decodeMinute(r));
    }
    for (const r of selectIn<BucketRow>(this.sql, BUCKET_COLUMNS, "hours", "start", missing(keys.hours, hours))) {
      hours.set(r.start, decodeHour(r));
    }
    for (const r of selectIn<DeviceRow>(this.sql, DEVICE_COLUMNS, "devices", "device_id", missing(keys.devices, devices))) {
      devices.set(r.device_id, decodeDevice(r));
    }
  }

  /**
   * Writes every dirty row and the seq they include (one upsert each), then
   * lets go of rows memory no longer needs: minutes before `keepFrom` and hours
   * and devices that are clean (the current hour stays: most batches touch it).
   * Call inside a transaction.
   */
  checkpoint(meter: WriteMeter, state: LocationState, keepFrom: number, now: number): void {
    const { minutes, hours, devices } = state.projections;
    const pick = <K, V>(keys: Set<K>, from: Map<K, V>) => [...keys].map((k) => from.get(k)).filter((v): v is V => v !== undefined);
    insertRows(meter, "minutes", BUCKET_FIELDS, pick(state.dirty.minutes, minutes).map(minuteRow), upsert(BUCKET_FIELDS));
    insertRows(meter, "hours", BUCKET_FIELDS, pick(state.dirty.hours, hours).map(hourRow), upsert(BUCKET_FIELDS));
    insertRows(meter, "devices", DEVICE_FIELDS, pick(state.dirty.devices, devices).map(deviceRow), upsert(DEVICE_FIELDS));
    this.setCheckpoint(meter, state.head);
    state.dirty = emptyDirty();
    for (const start of minutes.keys()) if (start < keepFrom) minutes.delete(start);
    const currentHour = hourStart(now);
    for (const start of hours.keys()) if (start < currentHour) hours.delete(start);
    if (devices.size > DEVICES_KEPT) devices.clear();
  }

  /**
   * Folds `facts` into the tables named `prefix` + table (a chunked rebuild's
   * shadow tables, durable-objects/location/rebuild.ts): reads the rows they
   * touch, folds in seq order, writes those rows back. Folding a log in
   * consecutive chunks this way gives the rows one fold of the whole log would.
   */
  foldInto(meter: WriteMeter, facts: readonly ReadingFact[], prefix: string): void {
    if (facts.length === 0) return;
    const set = emptyProjectionSet();
    const keys = touchedKeys(facts);
    for (const r of selectIn<BucketRow>(this.sql, BUCKET_COLUMNS, `${prefix}minutes`, "start", keys.minutes)) set.minutes.set(r.start, decodeMinute(r));
    for (const r of selectIn<BucketRow>(this.sql, BUCKET_COLUMNS, `${prefix}hours`, "start", keys.hours)) set.hours.set(r.start, decodeHour(r));
    for (const r of selectIn<DeviceRow>(this.sql, DEVICE_COLUMNS, `${prefix}devices`, "device_id", keys.devices)) set.devices.set(r.device_id, decodeDevice(r));
    for (const fact of facts) evolve(set, fact);
    insertRows(meter, `${prefix}minutes`, BUCKET_FIELDS, [...set.minutes.values()].map(minuteRow), upsert(BUCKET_FIELDS));
    insertRows(meter, `${prefix}hours`, BUCKET_FIELDS, [...set.hours.values()].map(hourRow), upsert(BUCKET_FIELDS));
    insertRows(meter, `${prefix}devices`, DEVICE_FIELDS, [...set.devices.values()].map(deviceRow), upsert(DEVICE_FIELDS));
  }

  /** Records that the stored projection rows include the log up to `head`. */
  setCheckpoint(meter: WriteMeter, head: number): void {
    meter.run("INSERT INTO meta (key, value) VALUES ('checkpoint', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(head));
  }

  /** Every device: stored rows, overlaid by the newer ones in memory. */
  devices(state: LocationState): DeviceState[] {
    const byId = new Map<string, DeviceState>();
    for (const r of this.sql.exec<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices`)) byId.set(r.device_id, decodeDevice(r));
    for (const [id, d] of state.projections.devices) byId.set(id, d);
    return [...byId.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }

  /** Every projection row as stored, for comparing an incremental build with a rebuild (checkpoint first). */
  dump(): Record<(typeof PROJECTION_TABLES)[number], unknown[]> {
    return {
      minutes: this.sql.exec(`SELECT * FROM minutes ORDER BY start`).toArray(),
      hours: this.sql.exec(`SELECT * FROM hours ORDER BY start`).toArray(),
      devices: this.sql.exec(`SELECT * FROM devices ORDER BY device_id`).toArray(),
    };
  }
}
