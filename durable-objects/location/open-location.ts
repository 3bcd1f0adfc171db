import type { ActiveAlert, AlertState, EventsPage, IngestEvent, LogEvent, Rule, ScoreWindow } from "../../protocol";
import { DEFAULT_RULES } from "../../protocol";
import type { DeviceState } from "../../domain/projections";
import { decide, type LocationInput } from "../../domain/location/decide";
import { allocate, type AlertEntry, type DigestDueEntry, type Entry, type ReadingEntry } from "../../domain/location/entries";
import { evolve, initialState, type LocationState } from "../../domain/location/state";
import { longestSpan } from "../../domain/rules";
import { windowStart } from "../../domain/time-buckets";
import { scoreWindowAt } from "../../domain/window";
import { WriteMeter } from "../sql";
import { ActionStore, type CommandState } from "./action-store";
import { CalendarStore } from "./calendar-store";
import { EventLog, toLogEvent } from "./event-log";
import { NotificationStore } from "./notification-store";
import type { NotificationState } from "../../protocol/notifications";
import { ProjectionStore } from "./projection-store";
import { ProfileStore } from "./profiles";

/** What every read of a location answers; a location nobody wrote to answers it from `EMPTY_LOCATION`. */
export interface LocationReads {
  readonly head: number;
  readonly lastRecordedAt: number | null;
  readonly alertCount: number;
  window(now: number): ScoreWindow;
  events(after: number, limit: number): EventsPage;
  recent(n: number): LogEvent[];
  devices(): DeviceState[];
  rules(): { rules: Rule[]; seq: number | null };
  alerts(recent: number): AlertsRead;
}

/** What the alerts route answers, but the location's name. */
export interface AlertsRead {
  alerts: AlertState[];
  commands: CommandState[];
  notifications: NotificationState[];
}

/** A location with no tables yet: every read is empty, and answering creates nothing. */
export const EMPTY_LOCATION: LocationReads = {
  head: 0,
  lastRecordedAt: null,
  alertCount: 0,
  window: (now) => scoreWindowAt([], now),
  events: () => ({ events: [], next: null }),
  recent: () => [],
  devices: () => [],
  rules: () => ({ rules: DEFAULT_RULES, seq: null }),
  alerts: () => ({ alerts: [], commands: [], notifications: [] }),
};

/** Events folded since the last checkpoint before the next one is written at once (bounds replay on wake). */
export const CHECKPOINT_EVERY_EVENTS = 2_000;

const readingsOf = (entries: readonly Entry[]): ReadingEntry[] => entries.filter((e): e is ReadingEntry => e.type === "reading");

/**
 * A location whose tables exist: its storage (log, projections, actions) and
 * the decider's state built from it. Loading reads the checkpointed
 * projections and folds the log's tail after the checkpoint again.
 *
 * The object drives it: `run` decides and appends inside the object's
 * transaction; `checkpoint` writes the projections back.
 */
export class OpenLocation implements LocationReads {
  readonly log: EventLog;
  readonly projections: ProjectionStore;
  readonly actions: ActionStore;
  readonly notifications: NotificationStore;
  readonly calendar: CalendarStore;
  readonly profiles: ProfileStore;
  state: LocationState;
  /** The seq the stored projection rows include. */
  checkpointedSeq = 0;

  constructor(sql: SqlStorage, now: number) {
    this.log = new EventLog(sql);
    this.projections = new ProjectionStore(sql);
    this.actions = new ActionStore(sql);
    this.notifications = new NotificationStore(sql);
    this.calendar = new CalendarStore(sql);
    this.profiles = new ProfileStore(sql);
    this.state = this.load(now);
  }

  /** Builds the state from storage: rules and alerts, recent minutes, then the log's tail folded again. */
  private load(now: number): LocationState {
    const state = initialState();
    this.actions.loadInto(state);
    this.calendar.loadInto(state);
    this.profiles.loadInto(state);
    state.lastDigestDate = this.log.lastDigest()?.digest.date ?? null;
    this.projections.loadRecent(state, windowStart(now, longestSpan(state.rules)));
    this.checkpointedSeq = this.projections.checkpointSeq();
    const { head, recordedAt } = this.log.head();
    const tail = readingsOf(this.log.entries(this.checkpointedSeq, head));
    this.projections.loadTouched(state, tail);
    this.calendar.loadTouched(state, tail);
    for (const e of tail) evolve(state, e);
    state.head = head;
    state.lastRecordedAt = recordedAt;
    return state;
  }

  /** After a failed transaction: forget memory, read storage again. */
  reload(now: number): void {
    this.state = this.load(now);
  }

  get head(): number {
    return this.state.head;
  }
  get lastRecordedAt(): number | null {
    return this.state.lastRecordedAt;
  }
  get alertCount(): number {
    return this.state.raised.size;
  }

  /** `events` sorted against the log by (device, id): new ones, duplicates and conflicts (indexes). */
  sortOut(events: readonly IngestEvent[]): ReturnType<EventLog["sortOut"]> {
    return this.log.sortOut(events);
  }

  /** Extends the minutes kept in memory when rules start looking further back. */
  ensureSpan(rules: readonly Rule[], now: number): void {
    this.projections.loadRecent(this.state, windowStart(now, longestSpan(rules)));
  }

  /**
   * Decides `input` at `now`, appends the entries and records the action
   * projections through `meter`, then folds them into the state. Call inside
   * a transaction; if it throws, `reload`.
   */
  run(meter: WriteMeter, input: LocationInput, now: number): Entry[] {
    const entries = allocate(this.state.head, decide(this.state, input, now), now);
    // Fanned-out alert changes leave the outbox in the same transaction as their queued notifications (or none).
    if (input.type === "queue-notifications") this.notifications.dequeue(meter, input.covers);
    if (entries.length === 0) return [];
    this.log.append(meter, entries);
    this.actions.record(meter, entries);
    this.notifications.record(meter, entries);
    this.notifications.enqueue(meter, entries);
    this.calendar.record(meter, entries);
    this.profiles.record(meter, entries);
    const readings = readingsOf(entries);
    this.projections.loadTouched(this.state, readings);
    this.calendar.loadTouched(this.state, readings);
    for (const e of entries) evolve(this.state, e);
    return entries;
  }

  /** Events folded into memory but not written back yet. */
  get uncheckpointed(): number {
    return this.state.head - this.checkpointedSeq;
  }

  /** Writes the dirty projection rows. Call inside a transaction. */
  checkpoint(meter: WriteMeter, now: number): void {
    this.projections.checkpoint(meter, this.state, windowStart(now, longestSpan(this.state.rules)), now);
    this.calendar.checkpoint(meter, this.state, now);
    this.checkpointedSeq = this.state.head;
  }

  /** The alert changes at these seqs (what the outbox holds). */
  alertsAt(seqs: readonly number[]): AlertEntry[] {
    const out: AlertEntry[] = [];
    for (const seq of seqs) {
      const e = this.log.entries(seq - 1, seq)[0];
      if (e && (e.type === "alert-raised" || e.type === "alert-cleared")) out.push(e);
    }
    return out;
  }

  /** The entry a notification tells of (its `alertId`): an alert change or a `digest-due`; null when the log holds neither at that id. */
  noticeOf(id: string): AlertEntry | DigestDueEntry | null {
    const seq = Number(id.slice(id.lastIndexOf("-") + 1));
    const e = Number.isSafeInteger(seq) && seq > 0 ? this.log.entries(seq - 1, seq)[0] : undefined;
    return e && e.id === id && (e.type === "alert-raised" || e.type === "alert-cleared" || e.type === "digest-due") ? e : null;
  }

  /** The `alert-raised` entry with this id, if the log holds one. */
  raisedAlert(id: string): AlertEntry | null {
    const seq = /^~alert-(\d+)$/.exec(id)?.[1];
    if (seq === undefined) return null;
    const [e] = this.alertsAt([Number(seq)]);
    return e && e.type === "alert-raised" && e.id === id ? e : null;
  }

  window(now: number): ScoreWindow {
    return scoreWindowAt(this.state.projections.minutes.values(), now);
  }

  events(after: number, limit: number): EventsPage {
    const events = this.range(after, limit);
    const last = events.at(-1)?.seq ?? after;
    return { events, next: last < this.state.head ? last : null };
  }

  /** Events with seq in (after, after + limit], as the wire carries them. */
  range(after: number, limit: number): LogEvent[] {
    return this.log.entries(after, Math.min(this.state.head, after + limit)).map(toLogEvent);
  }

  recent(n: number): LogEvent[] {
    return this.range(Math.max(0, this.state.head - n), n);
  }

  devices(): DeviceState[] {
    return this.projections.devices(this.state);
  }

  rules(): { rules: Rule[]; seq: number | null } {
    return { rules: this.state.rules, seq: this.state.rulesSeq };
  }

  alerts(recent: number): AlertsRead {
    const active = this.actions.activeAlerts();
    const ids = active.map((a) => `~alert-${a.seq}`);
    const notified = this.notifications.ofAlerts(ids);
    return {
      alerts: active.map((a, i) => ({ ...a, id: ids[i]!, acknowledgement: this.notifications.acknowledgement(ids[i]!), notifications: notified.get(ids[i]!) ?? [] })),
      commands: this.actions.recentCommands(recent),
      notifications: this.notifications.recent(recent),
    };
  }
}
