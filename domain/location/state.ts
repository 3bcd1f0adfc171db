import { DEFAULT_RULES, RULE_WINDOW_MINUTES, type Rule } from "../../protocol/actions";
import { emptyProjectionSet, evolve as foldReading, type ProjectionSet } from "../projections";
import { LOCATION_KEY, alertKey } from "../rules";
import { hourStart, minuteStart } from "../time-buckets";
import type { Entry } from "./entries";
import { emptyCalendar, foldQuarter, type CalendarState } from "../calendar/quarters";
import { foldProfiles, heard, type HeldProfile } from "./offline";

/** Projection rows changed in memory since they were last written (checkpointed). */
export interface DirtyKeys {
  minutes: Set<number>;
  hours: Set<number>;
  devices: Set<string>;
}

/**
 * Everything the location decides with, as plain data:
 * - the log's head and when it was last written;
 * - the rule set in force and the alerts raised under it;
 * - the reading projections the decider and the live window need: every
 *   minute bucket of the longest rule window, plus any hour, device or older
 *   minute row a fold touched (`dirty` until the object writes it back).
 *
 * The object builds it from storage (checkpointed projections plus the log's
 * tail), then keeps it current with `evolve` as it appends.
 */
export interface LocationState {
  head: number;
  lastRecordedAt: number | null;
  rules: Rule[];
  rulesSeq: number | null;
  raised: Set<string>;
  projections: ProjectionSet;
  dirty: DirtyKeys;
  /** Settings and the quarter-hour buckets the local calendar is read from (domain/calendar). */
  calendar: CalendarState;
  /** Devices registered here, as the registry pushed them, with when each was last heard (domain/location/offline.ts). */
  profiles: Map<string, HeldProfile>;
  /** The local date the log's last `digest-due` covered (null: none yet): when the next digest is due (domain/location/digest-due.ts). */
  lastDigestDate: string | null;
}

export const emptyDirty = (): DirtyKeys => ({ minutes: new Set(), hours: new Set(), devices: new Set() });

export const initialState = (): LocationState => ({
  head: 0,
  lastRecordedAt: null,
  rules: DEFAULT_RULES,
  rulesSeq: null,
  raised: new Set(),
  projections: emptyProjectionSet(),
  dirty: emptyDirty(),
  calendar: emptyCalendar(),
  profiles: new Map(),
  lastDigestDate: null,
});

/** Rules logged before `windowMinutes` existed looked back 60 minutes: say so, so they compare equal to today's. */
export const normalizeRules = (rules: readonly Rule[]): Rule[] =>
  rules.map((r) => ({ ...r, windowMinutes: r.windowMinutes ?? RULE_WINDOW_MINUTES.default }));

/**
 * Applies one committed entry. Readings fold into the projections (whose
 * touched rows the caller has loaded: see `touchedKeys`); rules and alerts
 * change what is in force. Commands change nothing the decider reads.
 *
 * Mutates and returns `state`: the object owns it, and folding a 500-event
 * batch into fresh copies per entry would cost O(entries × buckets).
 */
export function evolve(state: LocationState, entry: Entry): LocationState {
  state.head = entry.seq;
  state.lastRecordedAt = entry.recordedAt;
  switch (entry.type) {
    case "reading":
      foldReading(state.projections, entry);
      state.dirty.minutes.add(minuteStart(entry.occurredAt));
      state.dirty.hours.add(hourStart(entry.occurredAt));
      state.dirty.devices.add(entry.deviceId);
      foldQuarter(state.calendar, entry);
      heard(state.profiles, entry);
      break;
    case "device-profiles-set":
      foldProfiles(state.profiles, entry);
      break;
    case "settings-set":
      state.calendar.settings = entry.settings;
      state.calendar.settingsSeq = entry.seq;
      break;
    case "rules-set":
      state.rules = normalizeRules(entry.rules);
      state.rulesSeq = entry.seq;
      break;
    case "alert-raised":
      state.raised.add(alertKey(entry.ruleId, entry.deviceId ?? LOCATION_KEY));
      break;
    case "alert-cleared":
      state.raised.delete(alertKey(entry.ruleId, entry.deviceId ?? LOCATION_KEY));
      break;
    case "digest-due":
      state.lastDigestDate = entry.digest.date;
      break;
    case "command-issued":
    case "command-delivered":
    // Notifications and acknowledgements change nothing the decider reads (their projections are the object's).
    case "notification-queued":
    case "notification-sent":
    case "notification-failed":
    case "alert-acknowledged":
      break;
  }
  return state;
}
