import type { PeriodTally } from "../../protocol/calendar";
import { RANKING_DAYS, type CalendarDays } from "../../protocol/calendar-days";
import { DEFAULT_SETTINGS, type LocationSettings } from "../../protocol/settings";
import type { ReadingFact } from "../../domain/projections";
import type { Entry } from "../../domain/location/entries";
import type { LocationState } from "../../domain/location/state";
import { emptyCalendar, foldQuarter, quarterKeys, quarterStart, type QuarterBucket } from "../../domain/calendar/quarters";
import { dailySpan, dayTallies, localDay, type QuarterVotes } from "../../domain/calendar/series";
import { dateOfDay } from "../../domain/calendar/zone";
import { insertRows, selectIn, type WriteMeter } from "../sql";
import { decodeCell, encodeCell, tallyOf, type TallyColumns } from "./projection-store";

type QuarterRow = TallyColumns & { start: number; happy: number; neutral: number; devices: string };
const QUARTER_FIELDS = ["start", "votes", "vote_sum", "temperature_count", "temperature_sum", "humidity_count", "humidity_sum", "happy", "neutral", "sad", "devices"];
const QUARTER_COLUMNS = QUARTER_FIELDS.join(", ");
const UPSERT = `ON CONFLICT(start) DO UPDATE SET ${QUARTER_FIELDS.slice(1)
  .map((c) => `${c} = excluded.${c}`)
  .join(", ")}`;

function decode(r: QuarterRow): QuarterBucket {
  return {
    start: r.start,
    tally: tallyOf(r),
    votes: { happy: r.happy, neutral: r.neutral, sad: r.sad },
    ...devicesOf(r.devices),
  };
}
function devicesOf(cell: string): Pick<QuarterBucket, "devices" | "sketch"> {
  const { listed, sketch } = decodeCell<string>(cell);
  return { devices: new Set(listed), ...(sketch && { sketch }) };
}
/** Device lists are stored sorted, so equal state gives equal rows (incremental and rebuilt compare equal). */
const encode = (q: QuarterBucket) => [
  q.start,
  q.tally.votes,
  q.tally.voteSum,
  q.tally.temperatureCount,
  q.tally.temperatureSum,
  q.tally.humidityCount,
  q.tally.humiditySum,
  q.votes.happy,
  q.votes.neutral,
  q.votes.sad,
  encodeCell([...q.devices].sort(), q.sketch),
];

/** Past days' votes for the ranking, kept between publishes: valid for one settings seq and one local today. */
interface PastDays {
  settingsSeq: number | null;
  today: number;
  /** Local days today − RANKING_DAYS + 1 … today − 1, oldest first. */
  tallies: PeriodTally[];
  /** First UTC instant of today: a fold before it makes these stale. */
  todayStart: number;
}

/**
 * The calendar's storage: the settings in force (a projection of the
 * `settings-set` entries) and the quarter-hour buckets (a projection of the
 * readings), moved between SQLite and the location's state like the other
 * reading projections: folded in memory, written back by checkpoints,
 * overlaid on the stored rows when read.
 */
export class CalendarStore {
  private pastDays: PastDays | null = null;

  constructor(private readonly sql: SqlStorage) {}

  /** Puts the settings in force into `state`. */
  loadInto(state: LocationState): void {
    const row = this.sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM settings").toArray()[0];
    state.calendar.settings = row ? (JSON.parse(row.body) as LocationSettings) : DEFAULT_SETTINGS;
    state.calendar.settingsSeq = row?.seq ?? null;
    this.pastDays = null;
  }

  /** Whether the projections predate the calendar (set by migration 4 for a location that had a log). */
  needsRebuild(): boolean {
    return this.sql.exec("SELECT 1 FROM meta WHERE key = 'calendar-rebuild'").toArray().length > 0;
  }

  /** Reads the stored quarters `facts` fold into that memory does not hold yet. */
  loadTouched(state: LocationState, facts: readonly ReadingFact[]): void {
    const quarters = state.calendar.quarters;
    const missing = quarterKeys(facts).filter((q) => !quarters.has(q));
    for (const r of selectIn<QuarterRow>(this.sql, QUARTER_COLUMNS, "quarters", "start", missing)) quarters.set(r.start, decode(r));
  }

  /** Applies committed entries: only settings are written with the entry (readings go through checkpoints). */
  record(meter: WriteMeter, entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type !== "settings-set") continue;
      meter.run(
        "INSERT INTO settings (singleton, seq, body) VALUES (1, ?, ?) ON CONFLICT(singleton) DO UPDATE SET seq = excluded.seq, body = excluded.body",
        e.seq,
        JSON.stringify(e.settings),
      );
      this.pastDays = null;
    }
  }

  /** Writes the dirty quarters and lets go of the clean ones before the current quarter. Call inside a transaction. */
  checkpoint(meter: WriteMeter, state: LocationState, now: number): void {
    const { quarters, dirty } = state.calendar;
    const rows = [...dirty].map((q) => quarters.get(q)).filter((q): q is QuarterBucket => q !== undefined);
    insertRows(meter, "quarters", QUARTER_FIELDS, rows.map(encode), UPSERT);
    state.calendar.dirty = new Set();
    const current = quarterStart(now);
    for (const start of quarters.keys()) if (start < current) quarters.delete(start);
  }

  /**
   * Folds `facts` into the quarters table named `prefix` + "quarters" (a
   * chunked rebuild's shadow table, retention's base): reads the rows they
   * touch, folds in seq order, writes them back, as ProjectionStore.foldInto
   * does for the other reading projections.
   */
  foldInto(meter: WriteMeter, facts: readonly ReadingFact[], prefix: string): void {
    if (facts.length === 0) return;
    const calendar = emptyCalendar();
    for (const r of selectIn<QuarterRow>(this.sql, QUARTER_COLUMNS, `${prefix}quarters`, "start", quarterKeys(facts))) calendar.quarters.set(r.start, decode(r));
    for (const fact of facts) foldQuarter(calendar, fact);
    insertRows(meter, `${prefix}quarters`, QUARTER_FIELDS, [...calendar.quarters.values()].map(encode), UPSERT);
  }

  /** The settings projection from the log's system entries (a chunked rebuild's last chunk); clears the calendar's rebuild flag. */
  rebuildSettings(meter: WriteMeter, entries: Iterable<Entry>): void {
    meter.run("DELETE FROM settings");
    for (const e of entries) if (e.type === "settings-set") this.record(meter, [e]);
    meter.run("DELETE FROM meta WHERE key = 'calendar-rebuild'");
    this.pastDays = null;
  }

  /** Quarters in [from, to): stored rows overlaid by the newer ones in memory. */
  quarters(state: LocationState, from: number, to: number): QuarterBucket[] {
    const byStart = new Map<number, QuarterBucket>();
    for (const r of this.sql.exec<QuarterRow>(`SELECT ${QUARTER_COLUMNS} FROM quarters WHERE start >= ? AND start < ?`, from, to)) byStart.set(r.start, decode(r));
    for (const [start, q] of state.calendar.quarters) if (start >= from && start < to) byStart.set(start, q);
    return [...byStart.values()];
  }

  /** Votes of the quarters in [from, to), two columns read: stored overlaid by memory. */
  private votes(state: LocationState, from: number, to: number): QuarterVotes[] {
    const byStart = new Map<number, QuarterVotes>();
    for (const r of this.sql.exec<{ start: number; votes: number; vote_sum: number }>("SELECT start, votes, vote_sum FROM quarters WHERE start >= ? AND start < ?", from, to)) {
      byStart.set(r.start, { start: r.start, votes: r.votes, voteSum: r.vote_sum });
    }
    for (const [start, q] of state.calendar.quarters) if (start >= from && start < to) byStart.set(start, { start, votes: q.tally.votes, voteSum: q.tally.voteSum });
    return [...byStart.values()];
  }

  /**
   * Votes per local day for the ranking at `now`, newest first (see
   * `calendarDays`). Past days are read once per local day (and again only
   * when settings change or a late reading lands before today); today is
   * read on each call (≤ 96 quarters, two columns).
   */
  rankingDays(state: LocationState, now: number): CalendarDays {
    const { settings, settingsSeq } = state.calendar;
    const today = localDay(settings, now);
    const todaySpan = dailySpan(settings, today, today);
    const stale =
      !this.pastDays ||
      this.pastDays.settingsSeq !== settingsSeq ||
      this.pastDays.today !== today ||
      (state.calendar.earliestFold !== null && state.calendar.earliestFold < this.pastDays.todayStart);
    if (stale) {
      const fromDay = today - RANKING_DAYS + 1;
      const span = dailySpan(settings, fromDay, today - 1);
      this.pastDays = { settingsSeq, today, todayStart: todaySpan.from, tallies: dayTallies(this.votes(state, span.from, span.to), settings, fromDay, today - 1) };
    }
    state.calendar.earliestFold = null;
    const [todayTally] = dayTallies(this.votes(state, todaySpan.from, todaySpan.to), settings, today, today);
    const days = [todayTally!, ...[...this.pastDays!.tallies].reverse()].map((t): [number, number] => [t.votes, t.voteSum]);
    // Trailing days without votes say nothing the fleet would not assume.
    while (days.length > 0 && days.at(-1)![0] === 0) days.pop();
    return { date: dateOfDay(today), timeZone: settings.timeZone, days };
  }

  /** Rows as stored, for comparing an incremental build with a rebuild (checkpoint first). */
  dump(): { quarters: unknown[]; settings: unknown[] } {
    return {
      quarters: this.sql.exec("SELECT * FROM quarters ORDER BY start").toArray(),
      settings: this.sql.exec("SELECT * FROM settings").toArray(),
    };
  }
}
