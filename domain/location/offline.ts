import type { Rule } from "../../protocol/actions";
import type { DeviceProfileUpdate, LocationDeviceProfile } from "../../protocol/device-profiles";
import { alertKey, type Action } from "../rules";
import type { DeviceProfilesSetEntry, Draft, ReadingEntry } from "./entries";
import type { LocationState } from "./state";

/**
 * The "device offline" rule (`metric: "offline"`, protocol/actions.ts), part
 * of the location's decider. Pure.
 *
 * The registry pushes the profiles of the devices registered at the location
 * (`set-device-profiles`); the location logs the ones that changed as one
 * `device-profiles-set` entry and keeps them in its state with when each
 * device was last heard: the newest `occurredAt` of its readings (as the
 * devices list's health has it), and no earlier than the profile's arrival,
 * so a device registered here but never heard is silent from then on.
 *
 * A device is offline under a rule once silent for more than `threshold` ×
 * its expected interval; disabled devices and devices without an interval
 * never are. The verdict changes by time alone only from online to offline,
 * at an instant known in advance (`nextOfflineChange`), so the location's
 * alarm raises the alert at that instant and nothing polls; it clears when
 * the device is heard (ingest), or when its profile changes (disabled,
 * moved away, removed, a longer interval) or the rule goes.
 *
 * Offline alerts issue no command: the device is silent, a command would
 * only wait for it in the hub. They reach people through notifications.
 */

/** A profile as the location holds it: `since` when it arrived here, `heardAt` when the device was last heard (epoch ms). */
export interface HeldProfile extends LocationDeviceProfile {
  since: number;
  heardAt: number;
}

export const isOfflineRule = (rule: Pick<Rule, "metric">): boolean => rule.metric === "offline";

/** The instant after which the device is offline under `rule`; null when it never is (no profile, disabled, no interval). */
export function offlineAfter(rule: Pick<Rule, "threshold">, profile: HeldProfile | undefined): number | null {
  if (!profile || !profile.enabled || profile.expectedIntervalSeconds === null) return null;
  return profile.heardAt + rule.threshold * profile.expectedIntervalSeconds * 1000;
}

/** Silence in multiples of the device's interval: the alert's `value` (null without an interval). */
function silence(profile: HeldProfile | undefined, now: number): number | null {
  if (!profile || profile.expectedIntervalSeconds === null) return null;
  return Math.max(0, now - profile.heardAt) / (profile.expectedIntervalSeconds * 1000);
}

type ProfileOf = (deviceId: string) => HeldProfile | undefined;

/**
 * Alert changes of the offline `rules` for `devices` at `now`: a raise when a
 * device is offline with no alert raised, a clear when an alert is raised and
 * it no longer is. Devices in sorted order, rules in theirs.
 */
export function judgeOffline(rules: readonly Rule[], raised: ReadonlySet<string>, profileOf: ProfileOf, devices: Iterable<string>, now: number): Action[] {
  const offline = rules.filter(isOfflineRule);
  if (offline.length === 0) return [];
  const actions: Action[] = [];
  for (const deviceId of [...new Set(devices)].sort()) {
    const profile = profileOf(deviceId);
    for (const rule of offline) {
      const after = offlineAfter(rule, profile);
      const isOffline = after !== null && now > after;
      if (isOffline === raised.has(alertKey(rule.id, deviceId))) continue;
      const { id: ruleId, metric, op, threshold } = rule;
      actions.push({ type: isOffline ? "alert-raised" : "alert-cleared", ruleId, deviceId, metric, op, threshold, value: silence(profile, now), samples: 0 });
    }
  }
  return actions;
}

/** Devices an offline rule has something to say about: those with a profile, and those with an offline alert raised. */
export function offlineCandidates(state: LocationState, rules: readonly Rule[]): Set<string> {
  const devices = new Set(state.profiles.keys());
  for (const rule of rules.filter(isOfflineRule)) {
    const prefix = alertKey(rule.id, "");
    for (const key of state.raised) if (key.startsWith(prefix)) devices.add(key.slice(prefix.length));
  }
  return devices;
}

/** Offline alert changes as drafts dated `now` (they issue no commands, so they need no cause index). */
export const offlineDrafts = (actions: readonly Action[], now: number): Draft[] => actions.map((a): Draft => ({ ...a, occurredAt: now }));

/** The ingest's verdicts: devices heard in `readings`, judged with their new `heardAt`. */
export function offlineOnIngest(state: LocationState, readings: readonly Pick<ReadingEntry, "deviceId" | "occurredAt">[], now: number): Action[] {
  if (!state.rules.some(isOfflineRule)) return [];
  const newest = new Map<string, number>();
  for (const r of readings) if (state.profiles.has(r.deviceId)) newest.set(r.deviceId, Math.max(newest.get(r.deviceId) ?? -Infinity, r.occurredAt));
  const profileOf: ProfileOf = (id) => {
    const p = state.profiles.get(id);
    const at = newest.get(id);
    return p && at !== undefined && at > p.heardAt ? { ...p, heardAt: at } : p;
  };
  return judgeOffline(state.rules, state.raised, profileOf, readings.map((r) => r.deviceId), now);
}

const sameProfile = (a: LocationDeviceProfile, b: LocationDeviceProfile): boolean =>
  a.name === b.name && a.expectedIntervalSeconds === b.expectedIntervalSeconds && a.enabled === b.enabled;

/**
 * `set-device-profiles`: one `device-profiles-set` entry with the updates that
 * change something (none: no entry, so a repeated push costs nothing), then
 * the offline verdict on the devices they change.
 */
export function decideProfiles(state: LocationState, updates: readonly DeviceProfileUpdate[], now: number): Draft[] {
  const last = new Map<string, DeviceProfileUpdate["profile"]>();
  for (const u of updates) last.set(u.deviceId, u.profile);
  const changed: DeviceProfileUpdate[] = [];
  for (const [deviceId, profile] of [...last].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const held = state.profiles.get(deviceId);
    if (profile === null ? held === undefined : held !== undefined && sameProfile(held, profile)) continue;
    changed.push({ deviceId, profile: profile === null ? null : { name: profile.name, expectedIntervalSeconds: profile.expectedIntervalSeconds, enabled: profile.enabled } });
  }
  if (changed.length === 0) return [];
  const next = new Map(changed.map((u) => [u.deviceId, u.profile] as const));
  const profileOf: ProfileOf = (id) => {
    const held = state.profiles.get(id);
    if (!next.has(id)) return held;
    const p = next.get(id)!;
    return p === null ? undefined : held ? { ...held, ...p } : { ...p, since: now, heardAt: now };
  };
  const actions = judgeOffline(state.rules, state.raised, profileOf, next.keys(), now);
  return [{ type: "device-profiles-set", profiles: changed, occurredAt: now }, ...offlineDrafts(actions, now)];
}

/** `evolve` of a `device-profiles-set` entry: profiles added, changed (keeping when they came and were heard) or dropped. */
export function foldProfiles(profiles: Map<string, HeldProfile>, entry: Pick<DeviceProfilesSetEntry, "profiles" | "occurredAt">): void {
  for (const { deviceId, profile } of entry.profiles) {
    if (profile === null) {
      profiles.delete(deviceId);
      continue;
    }
    const held = profiles.get(deviceId);
    profiles.set(deviceId, { ...profile, since: held?.since ?? entry.occurredAt, heardAt: held?.heardAt ?? entry.occurredAt });
  }
}

/** `evolve` of a reading: a registered device's `heardAt` moves forward (a late reading does not move it back). */
export function heard(profiles: Map<string, HeldProfile>, reading: Pick<ReadingEntry, "deviceId" | "occurredAt">): void {
  const held = profiles.get(reading.deviceId);
  if (held && reading.occurredAt > held.heardAt) held.heardAt = reading.occurredAt;
}

/**
 * The first instant after which time alone raises an offline alert: the
 * earliest `heardAt + threshold × interval` of a device with no alert raised,
 * plus 1 ms (silent *more* than N intervals). null when none can: no offline
 * rule, no device with an interval, or every such device alerted already, so
 * the location needs no alarm for them.
 */
export function nextOfflineChange(state: LocationState, now: number): number | null {
  let next: number | null = null;
  for (const rule of state.rules) {
    if (!isOfflineRule(rule)) continue;
    for (const [deviceId, profile] of state.profiles) {
      if (state.raised.has(alertKey(rule.id, deviceId))) continue;
      const after = offlineAfter(rule, profile);
      if (after === null) continue;
      const at = Math.max(now, after + 1);
      if (next === null || at < next) next = at;
    }
  }
  return next;
}
