import type { IngestEvent, Rule } from "../../protocol";
import type { LocationSettings } from "../../protocol/settings";
import type { MinuteBucket } from "../projections";
import { LOCATION_KEY, judge, longestSpan, ruleSpan, rulesReplaced, type Action, type WindowOf } from "../rules";
import { addReadings, addTally, emptyTally, type Tally } from "../tally";
import { windowStart } from "../time-buckets";
import type { Draft } from "./entries";
import type { LocationState } from "./state";
import { decideNotifications, type NotificationInput } from "./notifications";
import { settingsDrafts } from "../calendar/settings";
import { inForce } from "../rules-location";
import type { DeviceProfileUpdate } from "../../protocol/device-profiles";
import { decideProfiles, judgeOffline, offlineCandidates, offlineDrafts, offlineOnIngest } from "./offline";
import { decideDigest, type DigestTick } from "./digest-due";

/** What a command's delivery report is checked against: the command as the location knows it. */
export interface KnownCommand {
  deviceId: string;
  delivered: boolean;
}

/** Everything that can happen to a location. */
export type LocationInput =
  /** Device events whose ids the log does not hold yet (the object checks ids against storage first). */
  | { type: "ingest"; events: readonly IngestEvent[] }
  /** PUT …/rules: the complete new rule set. */
  | { type: "set-rules"; rules: Rule[] }
  /** The bridge published commands; `command` is null for an id the location never issued. */
  | { type: "record-deliveries"; deliveries: readonly { id: string; deliveredAt: number; command: KnownCommand | null }[] }
  /** PUT …/settings: the location's calendar (validated by the worker). */
  | { type: "set-settings"; settings: LocationSettings }
  /** The device registry pushed profiles of devices registered (or no longer registered) here. */
  | { type: "set-device-profiles"; profiles: readonly DeviceProfileUpdate[] }
  /** Time passed (the object's alarm): windows aged. */
  | { type: "tick" }
  /** Notifications and acknowledgements (domain/location/notifications.ts). */
  | NotificationInput
  /** The alarm, when the daily digest may be due (domain/location/digest-due.ts). */
  | DigestTick;

/**
 * The location's decider: what entries `input` adds to the log at `now`, given
 * `state`. Pure: the object persists what this returns, then `evolve`s.
 *
 * - ingest: one reading per event, then the rules' verdict on every device
 *   heard, judged on its windows including the new readings;
 * - set-rules: the rule set, then every device with data in a window (or an
 *   alert) judged by the new rules; alerts of removed or redefined rules clear;
 * - record-deliveries: one `command-delivered` per command not yet delivered;
 * - set-settings: one `settings-set` entry (domain/calendar has what it changes);
 * - set-device-profiles: one `device-profiles-set` entry with the profiles
 *   that changed, then their offline verdicts (domain/location/offline.ts);
 * - tick: the verdict on every device whose windows hold data or an alert, so
 *   an alert whose votes aged out clears with nothing new arriving; and the
 *   offline rules' verdict on every registered device (offline.ts);
 * - notifications and acknowledgements: see domain/location/notifications.ts;
 * - digest-tick: the daily digest when due, with its notifications (digest-due.ts).
 */
export function decide(state: LocationState, input: LocationInput, now: number): Draft[] {
  switch (input.type) {
    case "ingest": {
      const readings = input.events.map(readingDraft);
      const windowOf = windows(state.projections.minutes.values(), now, readings);
      const heard = new Set(readings.map((r) => r.deviceId));
      const judged = drafts(judge(state.rules, state.raised, heard, windowOf, [], judgedAt(state, now)), readings.length, now);
      return [...readings, ...judged, ...offlineDrafts(offlineOnIngest(state, readings, now), now)];
    }
    case "set-rules": {
      const removed = rulesReplaced(state.rules, input.rules);
      const devices = devicesToJudge(state, now, [...input.rules, ...removed]);
      const windowOf = windows(state.projections.minutes.values(), now, []);
      const judged = drafts(judge(input.rules, state.raised, devices, windowOf, removed, judgedAt(state, now)), 1, now);
      // Alerts of removed or redefined rules were just cleared: the new rules judge from clear.
      const gone = new Set(removed.map((r) => r.id));
      const raised = new Set([...state.raised].filter((k) => !gone.has(k.slice(0, k.indexOf("\u0000")))));
      const offline = judgeOffline(input.rules, raised, (id) => state.profiles.get(id), offlineCandidates(state, input.rules), now);
      return [{ type: "rules-set", rules: input.rules, occurredAt: now }, ...judged, ...offlineDrafts(offline, now)];
    }
    case "record-deliveries": {
      const out: Draft[] = [];
      const seen = new Set<string>();
      for (const { id, deliveredAt, command } of input.deliveries) {
        if (!command || command.delivered || seen.has(id)) continue;
        seen.add(id);
        out.push({ type: "command-delivered", deviceId: command.deviceId, commandId: id, occurredAt: deliveredAt });
      }
      return out;
    }
    case "set-settings":
      return settingsDrafts(state.calendar, input.settings, now);
    case "set-device-profiles":
      return decideProfiles(state, input.profiles, now);
    case "tick": {
      const devices = devicesToJudge(state, now, state.rules);
      const offline = judgeOffline(state.rules, state.raised, (id) => state.profiles.get(id), offlineCandidates(state, state.rules), now);
      return [...drafts(judge(state.rules, state.raised, devices, windows(state.projections.minutes.values(), now, []), [], judgedAt(state, now)), 0, now), ...offlineDrafts(offline, now)];
    }
    case "queue-notifications":
    case "record-notification":
    case "acknowledge":
      return decideNotifications(input, now);
    case "digest-tick":
      return decideDigest(state, input, now);
  }
}

type ReadingDraft = Extract<Draft, { type: "reading" }>;

/** Which rules are in force at `now` under the location's opening hours (domain/rules-location.ts). */
const judgedAt = (state: LocationState, now: number) => (rule: Rule) => inForce(state.calendar.settings, rule, now);

function readingDraft(e: IngestEvent): ReadingDraft {
  return {
    type: "reading",
    id: e.id,
    deviceId: e.deviceId,
    occurredAt: e.occurredAt,
    ...(e.vote !== undefined && { vote: e.vote }),
    ...(e.temperature !== undefined && { temperature: e.temperature }),
    ...(e.humidity !== undefined && { humidity: e.humidity }),
    ...(e.properties !== undefined && { properties: e.properties }),
  };
}

/** Alert and command drafts from the rules' actions, dated `now`; `offset` is where they start among the drafts (for causes). */
function drafts(actions: readonly Action[], offset: number, now: number): Draft[] {
  return actions.map((a): Draft => {
    if (a.type === "command-issued") {
      const { causeIndex, ...rest } = a;
      return { ...rest, occurredAt: now, causeIndex: causeIndex + offset };
    }
    return { ...a, occurredAt: now };
  });
}

/**
 * Each device's tally over a rule's window at `now`: the minute buckets plus
 * `pending` readings not folded yet. Computed once per window length and
 * device, on first use. LOCATION_KEY: the location's (every device's) tally.
 */
function windows(minutes: Iterable<MinuteBucket>, now: number, pending: readonly ReadingDraft[]): WindowOf {
  const buckets = [...minutes];
  const bySpan = new Map<number, Map<string, Tally>>();
  return (rule, deviceId) => {
    const span = ruleSpan(rule);
    let tallies = bySpan.get(span);
    if (!tallies) bySpan.set(span, (tallies = new Map()));
    let tally = tallies.get(deviceId);
    if (!tally) {
      tally = emptyTally();
      const from = windowStart(now, span);
      const all = deviceId === LOCATION_KEY;
      for (const b of buckets) {
        if (b.start < from) continue;
        const t = all ? b.tally : b.devices.get(deviceId);
        if (t) addTally(tally, t);
      }
      for (const r of pending) if ((all || r.deviceId === deviceId) && r.occurredAt >= from) addReadings(tally, r);
      tallies.set(deviceId, tally);
    }
    return tally;
  };
}

/** Devices with data in the longest of `rules`' windows, or with an alert raised. */
function devicesToJudge(state: LocationState, now: number, rules: readonly Rule[]): Set<string> {
  const from = windowStart(now, longestSpan(rules));
  const devices = new Set<string>();
  for (const b of state.projections.minutes.values()) if (b.start >= from) for (const d of b.devices.keys()) devices.add(d);
  for (const key of state.raised) devices.add(key.slice(key.indexOf("\u0000") + 1));
  return devices;
}
