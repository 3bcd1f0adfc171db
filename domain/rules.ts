import type { Rule } from "../protocol/actions";
import type { MinuteBucket } from "./projections";
import { addTally, emptyTally, type Tally } from "./tally";
import { MINUTE_MS, windowStart } from "./time-buckets";

/** A rule's metric over one device's window. */
export interface Measure {
  value: number | null;
  samples: number;
}

/**
 * `judged`: whether the rule is in force now (false only for a `votes` rule
 * while its window is not wholly within opening hours: domain/rules-location.ts);
 * a rule not in force measures nothing, so it does not hold.
 */
export function measure(rule: Rule, t: Tally, judged = true): Measure {
  if (!judged) return { value: null, samples: t.votes };
  switch (rule.metric) {
    case "score":
      return { value: t.votes > 0 ? t.voteSum / t.votes : null, samples: t.votes };
    case "temperature":
      return { value: t.temperatureCount > 0 ? t.temperatureSum / t.temperatureCount : null, samples: t.temperatureCount };
    case "humidity":
      return { value: t.humidityCount > 0 ? t.humiditySum / t.humidityCount : null, samples: t.humidityCount };
    case "sad-share":
      return { value: t.votes > 0 ? t.sad / t.votes : null, samples: t.votes };
    case "votes":
      return { value: t.votes, samples: t.votes };
    case "offline":
      // Judged on the device's profile, not a window (domain/location/offline.ts); measured here only when the rule is removed.
      return { value: null, samples: 0 };
  }
}

/** Whether the rule's condition holds: enough samples (but for `votes`, which counts them), and the value past the threshold. */
export function holds(rule: Rule, m: Measure): boolean {
  if (m.value === null || (rule.metric !== "votes" && m.samples < rule.minSamples)) return false;
  return rule.op === "below" ? m.value < rule.threshold : m.value > rule.threshold;
}

/** How far back `rule` looks, in ms. Rules logged before `windowMinutes` existed look back 60 minutes. */
export const ruleSpan = (rule: Pick<Rule, "windowMinutes">): number => (rule.windowMinutes ?? 60) * MINUTE_MS;

/** The longest span any of `rules` looks back (at least the live hour, which the score card shows). */
export const longestSpan = (rules: readonly Rule[]): number => Math.max(60 * MINUTE_MS, ...rules.map(ruleSpan));

/**
 * Each listed device's tally over the window of `span` ms at `now`, from the
 * location's minute buckets (buckets before the window are skipped).
 */
export function deviceWindows(minutes: Iterable<MinuteBucket>, now: number, devices: Iterable<string>, span?: number): Map<string, Tally> {
  const from = windowStart(now, span);
  const windows = new Map<string, Tally>();
  for (const d of devices) windows.set(d, emptyTally());
  for (const bucket of minutes) {
    if (bucket.start < from) continue;
    for (const [device, tally] of windows) {
      const t = bucket.devices.get(device);
      if (t) addTally(tally, t);
    }
  }
  return windows;
}

export const alertKey = (ruleId: string, deviceId: string): string => `${ruleId}\u0000${deviceId}`;

/** Where a device id goes in a location-scope rule's alert key and window: no device id is empty. */
export const LOCATION_KEY = "";
export const isLocationRule = (rule: Pick<Rule, "scope">): boolean => rule.scope === "location";

/** What an alert change was judged on: the rule and the device's window (no device: the location's). */
export interface Judgement {
  ruleId: string;
  deviceId?: string;
  metric: Rule["metric"];
  op: Rule["op"];
  threshold: number;
  value: number | null;
  samples: number;
}

/** An alert decision or the command it issues, before it gets its log seq and id. */
export type Action =
  | (Judgement & { type: "alert-raised" | "alert-cleared" })
  | { type: "command-issued"; deviceId: string; payload: string; ruleId: string; causeIndex: number };

/** A device's tally over `rule`'s window (LOCATION_KEY: the location's): how `judge` reads the windows. */
export type WindowOf = (rule: Rule, deviceId: string) => Tally;

/** Whether a rule is in force now (see `measure`); every rule unless told. */
export type InForce = (rule: Rule) => boolean;

/**
 * Decides what changes for each (rule, device) given the devices' windows and
 * the alerts currently raised. Only a change of state yields actions — a raise
 * when the rule starts to hold, a clear when it stops — so a steady condition
 * produces no storm of repeats. Each change issues the rule's command (if it
 * has one). Devices are taken in sorted order and rules in their order, so the
 * same inputs always give the same actions in the same order.
 *
 * `removed` are rules no longer in force: their raised alerts are cleared.
 * Location-scope rules are judged once per call, on the location's window
 * (`windowOf(rule, LOCATION_KEY)`), whichever devices were heard.
 */
export function judge(
  rules: readonly Rule[],
  raised: ReadonlySet<string>,
  devices: Iterable<string>,
  windowOf: WindowOf,
  removed: readonly Rule[] = [],
  inForce: InForce = () => true,
): Action[] {
  const actions: Action[] = [];
  const state = new Set(raised);
  const change = (rule: Rule, deviceId: string, m: Measure, type: "alert-raised" | "alert-cleared") => {
    const { id: ruleId, metric, op, threshold } = rule;
    if (type === "alert-raised") state.add(alertKey(ruleId, deviceId));
    else state.delete(alertKey(ruleId, deviceId));
    const forLocation = deviceId === LOCATION_KEY;
    actions.push({ type, ruleId, ...(!forLocation && { deviceId }), metric, op, threshold, value: m.value, samples: m.samples });
    // A location's alert has no device to command; an offline device hears none (offline.ts).
    const payload = type === "alert-raised" ? rule.raise : rule.clear;
    if (payload !== null && !forLocation && rule.metric !== "offline") actions.push({ type: "command-issued", deviceId, payload, ruleId, causeIndex: actions.length - 1 });
  };
  const verdict = (rule: Rule, deviceId: string) => {
    const m = measure(rule, windowOf(rule, deviceId), inForce(rule));
    const wasRaised = state.has(alertKey(rule.id, deviceId));
    const isHolding = holds(rule, m);
    if (isHolding && !wasRaised) change(rule, deviceId, m, "alert-raised");
    else if (!isHolding && wasRaised) change(rule, deviceId, m, "alert-cleared");
  };

  for (const rule of removed) {
    const prefix = alertKey(rule.id, "");
    const affected = [...state].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();
    for (const deviceId of affected) change(rule, deviceId, measure(rule, windowOf(rule, deviceId)), "alert-cleared");
  }
  // Offline rules are judged on profiles, not windows (domain/location/offline.ts).
  const deviceRules = rules.filter((r) => !isLocationRule(r) && r.metric !== "offline");
  for (const deviceId of [...new Set(devices)].sort()) {
    if (deviceId === LOCATION_KEY) continue;
    for (const rule of deviceRules) verdict(rule, deviceId);
  }
  // Location rules after the devices', in their order: judged once, on the location's window.
  for (const rule of rules) if (isLocationRule(rule)) verdict(rule, LOCATION_KEY);
  return actions;
}

/** Rules of `before` that `after` no longer has, or has with another definition (those restart from clear). */
export function rulesReplaced(before: readonly Rule[], after: readonly Rule[]): Rule[] {
  const next = new Map(after.map((r) => [r.id, JSON.stringify(r)]));
  return before.filter((r) => next.get(r.id) !== JSON.stringify(r));
}
