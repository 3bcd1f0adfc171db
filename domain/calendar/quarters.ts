import { DEFAULT_SETTINGS, type LocationSettings } from "../../protocol/settings";
import type { ReadingFact } from "../projections";
import { addReadings, countVote, emptyTally, emptyVoteCounts, type Tally, type VoteCounts } from "../tally";
import { hear, type DeviceSketch } from "../device-count";
import { QUARTER_MS } from "./zone";

/**
 * One UTC quarter hour of a location: the calendar's unit. Local hours, days
 * and weeks in any zone are unions of whole quarters (every offset in use is
 * a multiple of 15 minutes), so they are derived from these at read time and
 * a change of time zone rebuilds nothing.
 */
export interface QuarterBucket {
  start: number;
  tally: Tally;
  votes: VoteCounts;
  /** Listed up to DEVICES_LISTED, the rest counted in `sketch` (domain/device-count.ts), as minutes and hours do. */
  devices: Set<string>;
  sketch?: DeviceSketch;
}

/**
 * The calendar part of a location's state: quarters folded since the last
 * checkpoint (plus the ones a fold had to load), which are `dirty` until the
 * object writes them back, and the settings in force with the seq that set them.
 */
export interface CalendarState {
  quarters: Map<number, QuarterBucket>;
  dirty: Set<number>;
  settings: LocationSettings;
  settingsSeq: number | null;
  /** Earliest quarter a fold touched since `dirtySince` was last reset: what cached past days must drop. */
  earliestFold: number | null;
}

export const emptyCalendar = (): CalendarState => ({
  quarters: new Map(),
  dirty: new Set(),
  settings: DEFAULT_SETTINGS,
  settingsSeq: null,
  earliestFold: null,
});

export const quarterStart = (ms: number): number => Math.floor(ms / QUARTER_MS) * QUARTER_MS;

export const emptyQuarter = (start: number): QuarterBucket => ({ start, tally: emptyTally(), votes: emptyVoteCounts(), devices: new Set() });

/** Folds one reading into its quarter (which the caller has loaded if it is stored: see `quarterKeys`). */
export function foldQuarter(calendar: CalendarState, fact: ReadingFact): void {
  const q = quarterStart(fact.occurredAt);
  let bucket = calendar.quarters.get(q);
  if (!bucket) calendar.quarters.set(q, (bucket = emptyQuarter(q)));
  addReadings(bucket.tally, fact);
  countVote(bucket.votes, fact);
  if (hear(bucket, fact.deviceId)) bucket.devices.add(fact.deviceId);
  calendar.dirty.add(q);
  if (calendar.earliestFold === null || q < calendar.earliestFold) calendar.earliestFold = q;
}

/** The quarters `facts` fold into, so they can be loaded first. */
export const quarterKeys = (facts: readonly ReadingFact[]): number[] => [...new Set(facts.map((f) => quarterStart(f.occurredAt)))];
