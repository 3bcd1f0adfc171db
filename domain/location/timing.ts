import { LOCATION_KEY, holds, isLocationRule, measure, ruleSpan, alertKey } from "../rules";
import { addTally, emptyTally, type Tally } from "../tally";
import { bucketLeavesAt, windowStart } from "../time-buckets";
import type { LocationState } from "./state";
import { dependsOnOpeningHours, inForce, nextOpenWindowChange } from "../rules-location";

/**
 * The first instant after `now` at which time alone changes a rule's verdict
 * for some device: a bucket leaves the device's window and what remains no
 * longer agrees with whether its alert is raised (the votes of a raised alert
 * aged out, or the readings that kept a rule from holding did). null when
 * aging changes no verdict: the location then needs no alarm for its rules.
 *
 * Exact, not a guess: for each device and rule it replays the window losing
 * its buckets oldest first, so an alarm is set only for a real change.
 */
export function nextVerdictChange(state: LocationState, now: number): number | null {
  let next: number | null = null;
  const bySpan = new Map<number, Map<string, { start: number; tally: Tally }[]>>();
  for (const rule of state.rules) {
    // Offline rules change with time at instants of their own (offline.ts: nextOfflineChange).
    if (rule.metric === "offline") continue;
    const span = ruleSpan(rule);
    let perDevice = bySpan.get(span);
    if (!perDevice) {
      perDevice = new Map();
      const from = windowStart(now, span);
      for (const b of state.projections.minutes.values()) {
        if (b.start < from) continue;
        // The location's own series (LOCATION_KEY) beside each device's, for location-scope rules.
        for (const [device, tally] of [[LOCATION_KEY, b.tally] as const, ...b.devices]) {
          let list = perDevice.get(device);
          if (!list) perDevice.set(device, (list = []));
          list.push({ start: b.start, tally });
        }
      }
      for (const list of perDevice.values()) list.sort((a, b) => a.start - b.start);
      bySpan.set(span, perDevice);
    }
    const judged = inForce(state.calendar.settings, rule, now);
    if (dependsOnOpeningHours(rule)) {
      // Opening hours change its verdict too: due at the next change of "open throughout the window",
      // and now when the verdict already disagrees (an empty window, which the replay below never sees, or new settings).
      const at = nextOpenWindowChange(state.calendar.settings, now, span);
      if (at !== null && (next === null || at < next)) next = at;
      const whole = emptyTally();
      for (const { tally } of perDevice.get(LOCATION_KEY) ?? []) addTally(whole, tally);
      if (holds(rule, measure(rule, whole, judged)) !== state.raised.has(alertKey(rule.id, LOCATION_KEY))) next = next === null ? now : Math.min(next, now);
    }
    for (const [device, list] of perDevice) {
      if ((device === LOCATION_KEY) !== isLocationRule(rule)) continue;
      const raised = state.raised.has(alertKey(rule.id, device));
      // Windows left after the oldest i buckets leave, newest-first sums: rest[i] holds buckets i..end.
      const rest: Tally[] = new Array(list.length + 1);
      rest[list.length] = emptyTally();
      for (let i = list.length - 1; i >= 0; i--) {
        const t = emptyTally();
        addTally(t, rest[i + 1]!);
        addTally(t, list[i]!.tally);
        rest[i] = t;
      }
      for (let i = 0; i < list.length; i++) {
        if (holds(rule, measure(rule, rest[i + 1]!, judged)) !== raised) {
          const at = bucketLeavesAt(list[i]!.start, span);
          if (next === null || at < next) next = at;
          break;
        }
      }
    }
    // A raised alert whose device has nothing left in the window is due now (normally already cleared by a tick);
    // not a votes rule's, which an empty window may well hold (its verdict is checked above).
    for (const key of state.raised) {
      const [ruleId, device] = key.split("\u0000");
      if (ruleId === rule.id && !perDevice.has(device!) && !dependsOnOpeningHours(rule)) next = next === null ? now : Math.min(next, now);
    }
  }
  return next;
}

/**
 * When the live (hourly) window next changes by time alone: when its oldest
 * bucket leaves. null when the window is empty. Sockets get a `window` frame
 * and the fleet view a fresh summary at that instant.
 */
export function nextLiveWindowChange(state: LocationState, now: number): number | null {
  const from = windowStart(now);
  let oldest: number | null = null;
  for (const b of state.projections.minutes.values()) if (b.start >= from && (oldest === null || b.start < oldest)) oldest = b.start;
  return oldest === null ? null : bucketLeavesAt(oldest);
}

/**
 * When notifications next need the alarm: at once while alert changes wait
 * to be fanned out to the channels, else when the earliest pending
 * notification's next attempt is due; null when nothing is pending (no alarm
 * for notifications). The pending state itself lives in the object's storage
 * (durable-objects/location/notification-store.ts), derived from the log.
 */
export const nextNotificationDue = (fanOutWaiting: boolean, earliestAttempt: number | null, now: number): number | null =>
  fanOutWaiting ? now : earliestAttempt;
