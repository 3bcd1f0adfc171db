import { describe, expect, it } from "vitest";
import { rule, rulesBody, type IngestEvent, type Rule } from "../../../protocol";
import type { DeviceProfileUpdate } from "../../../protocol/device-profiles";
import { decide, type LocationInput } from "../../../domain/location/decide";
import { allocate, type Entry } from "../../../domain/location/entries";
import { evolve, initialState, type LocationState } from "../../../domain/location/state";
import { nextOfflineChange } from "../../../domain/location/offline";
import { nextVerdictChange } from "../../../domain/location/timing";
import { alertPayload } from "../../../domain/notifications/webhook";

/**
 * The "device offline" rule, given/when/then as in location.test.ts: the
 * registry pushes profiles (`set-device-profiles`), the location logs the
 * changed ones, and an offline rule raises an alert when a registered device
 * is silent for more than threshold × its interval (at an instant the alarm
 * is set for), clearing it when the device is heard again.
 */
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const S = 1000;

const offline: Rule = rule.parse({ id: "silent", metric: "offline", op: "above", threshold: 3 });

let nextSeq = 1;
const base = (at: number) => ({ seq: nextSeq++, occurredAt: at, recordedAt: at });
const rulesSet = (rules: Rule[], at: number): Entry => ({ ...base(at), id: `~rules-${nextSeq}`, type: "rules-set", rules });
const profilesSet = (profiles: DeviceProfileUpdate[], at: number): Entry => ({ ...base(at), id: `~profiles-${nextSeq}`, type: "device-profiles-set", profiles });
const reading = (deviceId: string, at: number): Entry => ({ ...base(at), id: `m-${nextSeq}`, type: "reading", deviceId, temperature: 20 });
const raisedOffline = (deviceId: string, at: number): Entry => ({
  ...base(at),
  id: `~alert-${nextSeq}`,
  type: "alert-raised",
  ruleId: "silent",
  deviceId,
  metric: "offline",
  op: "above",
  threshold: 3,
  value: 3.1,
  samples: 0,
});
const every = (deviceId: string, seconds: number | null, enabled = true, name: string | null = null): DeviceProfileUpdate => ({
  deviceId,
  profile: { name, expectedIntervalSeconds: seconds, enabled },
});

const given = (...build: (() => Entry)[]) => {
  nextSeq = 1;
  const state: LocationState = initialState();
  const log = build.map((b) => b());
  for (const e of log) evolve(state, e);
  return {
    state,
    log,
    when: (input: LocationInput, now: number) => {
      const decided = allocate(state.head, decide(state, input, now), now);
      return {
        decided,
        then: (expected: Partial<Entry>[]) => expect(decided).toEqual(expected.map((e) => expect.objectContaining(e))),
        /** Folds the decided entries in, for what comes after. */
        commit: () => {
          for (const e of decided) evolve(state, e);
          log.push(...decided);
          return state;
        },
      };
    },
  };
};
const ingest = (...events: Omit<IngestEvent, "location">[]): LocationInput => ({ type: "ingest", events: events.map((e) => ({ ...e, location: "MTC" })) });
const heard = (id: string, deviceId: string, at: number) => ({ id, deviceId, occurredAt: at, humidity: 40 });
const push = (...profiles: DeviceProfileUpdate[]): LocationInput => ({ type: "set-device-profiles", profiles });

describe("the offline rule's schema", () => {
  it("takes metric offline with op above and a threshold in multiples of the interval", () => {
    expect(offline).toMatchObject({ metric: "offline", op: "above", threshold: 3 });
    expect(rulesBody.parse({ rules: [offline] }).rules).toEqual([offline]);
  });

  it("refuses a threshold out of 1–1000, op below and scope location, with every reason", () => {
    const refused = rule.safeParse({ id: "silent", metric: "offline", op: "below", threshold: 0.5, scope: "location" });
    expect(refused.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["threshold", "an offline threshold must be between 1 and 1000 (multiples of the device's expected interval)"],
      ["op", 'an offline rule\'s op must be "above" (silent for more than threshold × the interval)'],
      ["scope", 'an offline rule judges each device: scope must be "device"'],
    ]);
    expect(rule.safeParse({ ...offline, threshold: 1001 }).success).toBe(false);
    expect(rule.safeParse({ ...offline, metric: "silence" }).error?.issues[0]?.message).toBe('metric must be "score", "temperature", "humidity", "sad-share", "votes" or "offline"');
  });
});

describe("decide: set-device-profiles", () => {
  it("logs the pushed profiles once; the same push again appends nothing", () => {
    const g = given();
    const first = g.when(push(every("d2", 60), every("d1", 30, true, "Lobby")), T0);
    first.then([
      {
        seq: 1,
        id: "~profiles-1",
        type: "device-profiles-set",
        profiles: [every("d1", 30, true, "Lobby"), every("d2", 60)],
      },
    ]);
    first.commit();
    expect(g.state.profiles.get("d1")).toEqual({ name: "Lobby", expectedIntervalSeconds: 30, enabled: true, since: T0, heardAt: T0 });
    expect(g.when(push(every("d1", 30, true, "Lobby"), every("d2", 60)), T0 + S).decided).toEqual([]);
  });

  it("logs only what changed; a removal of a device it does not hold is nothing", () => {
    given(() => profilesSet([every("d1", 30), every("d2", 60)], T0))
      .when(push(every("d1", 30), every("d2", 90), { deviceId: "d3", profile: null }, { deviceId: "d1", profile: null }), T0 + S)
      .then([{ type: "device-profiles-set", profiles: [{ deviceId: "d1", profile: null }, every("d2", 90)] }]);
  });
});

describe("decide: the offline rule", () => {
  const setUp = () => [() => rulesSet([offline], T0), () => profilesSet([every("d1", 10)], T0)] as const;

  it("sets its alarm for the instant the device has been silent more than threshold × interval, and the tick then raises the alert, no command", () => {
    const g = given(...setUp(), () => reading("d1", T0 + 5 * S));
    const due = T0 + 5 * S + 30 * S + 1;
    expect(nextOfflineChange(g.state, T0 + 6 * S)).toBe(due);
    // Rule windows have no say: the offline rule needs no window alarm.
    expect(nextVerdictChange(g.state, T0 + 6 * S)).toBeNull();
    expect(g.when({ type: "tick" }, due - 1).decided).toEqual([]);
    const raised = g.when({ type: "tick" }, due);
    raised.then([{ type: "alert-raised", ruleId: "silent", deviceId: "d1", metric: "offline", op: "above", threshold: 3, samples: 0 }]);
    expect(raised.decided[0]).toMatchObject({ value: expect.closeTo(3, 3) });
    raised.commit();
    // Alerted already: nothing more to set an alarm for.
    expect(nextOfflineChange(g.state, due)).toBeNull();
    expect(g.when({ type: "tick" }, due + 60 * S).decided).toEqual([]);
  });

  it("counts a device never heard from when its profile arrived", () => {
    const g = given(...setUp());
    expect(nextOfflineChange(g.state, T0)).toBe(T0 + 30 * S + 1);
  });

  it("clears the alert when the device is heard again", () => {
    given(...setUp(), () => raisedOffline("d1", T0 + 31 * S))
      .when(ingest(heard("m1", "d1", T0 + 40 * S)), T0 + 40 * S)
      .then([
        { type: "reading", deviceId: "d1" },
        { type: "alert-cleared", ruleId: "silent", deviceId: "d1", metric: "offline", value: 0 },
      ]);
  });

  it("a reading dated before the silence does not clear it (heard is the newest occurredAt, as health has it)", () => {
    given(...setUp(), () => reading("d1", T0 + 5 * S), () => raisedOffline("d1", T0 + 36 * S))
      .when(ingest(heard("late", "d1", T0 + 2 * S)), T0 + 40 * S)
      .then([{ type: "reading", deviceId: "d1" }]);
  });

  it("sets no alarm for devices without an interval, disabled devices, or without an offline rule", () => {
    expect(nextOfflineChange(given(() => rulesSet([offline], T0), () => profilesSet([every("d1", null), every("d2", 10, false)], T0)).state, T0)).toBeNull();
    expect(nextOfflineChange(given(() => profilesSet([every("d1", 10)], T0)).state, T0)).toBeNull();
    expect(given(() => profilesSet([every("d1", 10)], T0)).when({ type: "tick" }, T0 + 3600 * S).decided).toEqual([]);
  });

  it("clears a raised alert when the device is disabled, moved away, or given a longer interval", () => {
    const at = T0 + 40 * S;
    const alerted = () => given(...setUp(), () => raisedOffline("d1", T0 + 31 * S));
    const cleared = { type: "alert-cleared" as const, ruleId: "silent", deviceId: "d1", metric: "offline" as const };
    alerted().when(push(every("d1", 10, false)), at).then([{ type: "device-profiles-set" }, cleared]);
    alerted().when(push({ deviceId: "d1", profile: null }), at).then([{ type: "device-profiles-set" }, { ...cleared, value: null }]);
    alerted().when(push(every("d1", 60)), at).then([{ type: "device-profiles-set" }, cleared]);
    // A shorter interval keeps it raised: nothing but the entry.
    alerted().when(push(every("d1", 5)), at).then([{ type: "device-profiles-set" }]);
  });

  it("raises at once when a pushed interval makes a silent device overdue", () => {
    given(...setUp(), () => reading("d1", T0 + S))
      .when(push(every("d1", 2)), T0 + 20 * S)
      .then([{ type: "device-profiles-set" }, { type: "alert-raised", deviceId: "d1", metric: "offline" }]);
  });

  it("a new offline rule judges every registered device at once; removing it clears its alerts without a command", () => {
    given(() => profilesSet([every("d1", 10), every("d2", 10)], T0), () => reading("d2", T0 + 50 * S))
      .when({ type: "set-rules", rules: [offline] }, T0 + 60 * S)
      .then([{ type: "rules-set" }, { type: "alert-raised", deviceId: "d1", metric: "offline" }]);
    given(...setUp(), () => raisedOffline("d1", T0 + 31 * S))
      .when({ type: "set-rules", rules: [] }, T0 + 40 * S)
      .then([{ type: "rules-set" }, { type: "alert-cleared", deviceId: "d1", metric: "offline" }]);
  });

  it("a redefined offline rule judges from clear: cleared, then raised again if still offline", () => {
    given(...setUp(), () => raisedOffline("d1", T0 + 31 * S))
      .when({ type: "set-rules", rules: [{ ...offline, threshold: 2 }] }, T0 + 40 * S)
      .then([{ type: "rules-set" }, { type: "alert-cleared", deviceId: "d1", threshold: 3 }, { type: "alert-raised", deviceId: "d1", threshold: 2 }]);
  });

  it("a replay of the log gives the same profiles as the incremental fold", () => {
    const g = given(...setUp());
    g.when(push(every("d1", 20), every("d2", 5)), T0 + S).commit();
    g.when(ingest(heard("m1", "d2", T0 + 3 * S), heard("m0", "d2", T0 + 2 * S)), T0 + 3 * S).commit();
    g.when(push({ deviceId: "d1", profile: null }), T0 + 4 * S).commit();
    const replay = initialState();
    for (const e of g.log) evolve(replay, e);
    expect(replay.profiles).toEqual(g.state.profiles);
    expect([...g.state.profiles]).toEqual([["d2", { name: null, expectedIntervalSeconds: 5, enabled: true, since: T0 + S, heardAt: T0 + 3 * S }]]);
  });
});

describe("the offline alert's notification", () => {
  it("names the device and its silence in intervals; the clear says it is back", () => {
    const g = given(() => rulesSet([offline], T0), () => profilesSet([every("d1", 10)], T0));
    const [raised] = g.when({ type: "tick" }, T0 + 40 * S).decided;
    expect(raised?.type).toBe("alert-raised");
    const payload = alertPayload("MTC", raised as Extract<Entry, { type: "alert-raised" }>);
    expect(payload.data).toMatchObject({ deviceId: "d1", metric: "offline", op: "above", threshold: 3, value: 4, samples: 0 });
    expect(payload.text).toBe(":rotating_light: *MTC* · d1: offline, silent 4× its expected interval (rule silent: silent more than 3× its interval)");
    const cleared = given(() => rulesSet([offline], T0), () => profilesSet([every("d1", 10)], T0), () => raisedOffline("d1", T0 + 31 * S))
      .when(ingest(heard("m1", "d1", T0 + 40 * S)), T0 + 40 * S).decided[1];
    expect(alertPayload("MTC", cleared as Extract<Entry, { type: "alert-cleared" }>).text).toBe(":white_check_mark: *MTC* · d1: no longer offline (rule silent: silent more than 3× its interval)");
  });
});
