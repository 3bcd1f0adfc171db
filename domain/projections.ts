import type { Readings } from "../protocol";
import { hear, type DeviceSketch } from "./device-count";
import { addReadings, emptyTally, type Tally } from "./tally";
import { hourStart, minuteStart } from "./time-buckets";

/** What the projections need of a reading event. */
export interface ReadingFact extends Readings {
  deviceId: string;
  /** Epoch ms. */
  occurredAt: number;
}

/**
 * One minute of a location: totals, and per device (for device rules and
 * distinct counts): at most DEVICES_LISTED devices, the rest only counted in
 * `sketch` (domain/device-count).
 */
export interface MinuteBucket {
  start: number;
  tally: Tally;
  devices: Map<string, Tally>;
  sketch?: DeviceSketch;
}

/** One calendar hour (UTC) of a location: totals and the devices heard (capped like a minute's). */
export interface HourBucket {
  start: number;
  tally: Tally;
  devices: Set<string>;
  sketch?: DeviceSketch;
}

export interface LatestReading {
  value: number;
  at: number;
}

/** What the location knows of one device: when it was last heard and its latest readings. */
export interface DeviceState {
  deviceId: string;
  lastSeenAt: number;
  vote: LatestReading | null;
  temperature: LatestReading | null;
  humidity: LatestReading | null;
}

/**
 * The slice of projection rows a batch reads and writes. Keys absent from the
 * maps are rows that do not exist yet.
 */
export interface ProjectionSet {
  minutes: Map<number, MinuteBucket>;
  hours: Map<number, HourBucket>;
  devices: Map<string, DeviceState>;
}

export const emptyProjectionSet = (): ProjectionSet => ({ minutes: new Map(), hours: new Map(), devices: new Map() });

/** The rows a batch of facts touches, so they can be loaded before folding. */
export function touchedKeys(facts: readonly ReadingFact[]): { minutes: number[]; hours: number[]; devices: string[] } {
  const minutes = new Set<number>();
  const hours = new Set<number>();
  const devices = new Set<string>();
  for (const f of facts) {
    minutes.add(minuteStart(f.occurredAt));
    hours.add(hourStart(f.occurredAt));
    devices.add(f.deviceId);
  }
  return { minutes: [...minutes], hours: [...hours], devices: [...devices] };
}

/**
 * Folds one fact into the projection rows it touches. Late and out-of-order
 * facts land in their own buckets; a device's latest readings only move
 * forward in occurredAt (ties go to the later log entry), so replaying the log
 * in seq order gives the same rows however the events were batched.
 *
 * Mutates `set`, a working copy owned by the caller: folding a 500-event batch
 * into fresh copies per event would cost O(events × devices).
 */
export function evolve(set: ProjectionSet, fact: ReadingFact): void {
  const m = minuteStart(fact.occurredAt);
  let minute = set.minutes.get(m);
  if (!minute) set.minutes.set(m, (minute = { start: m, tally: emptyTally(), devices: new Map() }));
  addReadings(minute.tally, fact);
  if (hear(minute, fact.deviceId)) {
    let perDevice = minute.devices.get(fact.deviceId);
    if (!perDevice) minute.devices.set(fact.deviceId, (perDevice = emptyTally()));
    addReadings(perDevice, fact);
  }

  const h = hourStart(fact.occurredAt);
  let hour = set.hours.get(h);
  if (!hour) set.hours.set(h, (hour = { start: h, tally: emptyTally(), devices: new Set() }));
  addReadings(hour.tally, fact);
  if (hear(hour, fact.deviceId)) hour.devices.add(fact.deviceId);

  const previous = set.devices.get(fact.deviceId);
  const at = fact.occurredAt;
  const latest = (old: LatestReading | null | undefined, value: number | undefined): LatestReading | null =>
    value !== undefined && (!old || at >= old.at) ? { value, at } : (old ?? null);
  set.devices.set(fact.deviceId, {
    deviceId: fact.deviceId,
    lastSeenAt: Math.max(previous?.lastSeenAt ?? at, at),
    vote: latest(previous?.vote, fact.vote),
    temperature: latest(previous?.temperature, fact.temperature),
    humidity: latest(previous?.humidity, fact.humidity),
  });
}
