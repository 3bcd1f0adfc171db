import { env, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RULES,
  alertsResponse,
  rulesResponse,
  type LogEvent,
  type Rule,
} from "../../protocol";
import { emptyProjectionSet, evolve, type ReadingFact } from "../../domain/projections";
import { alertKey, deviceWindows, judge, ruleSpan, rulesReplaced, type Action, type WindowOf } from "../../domain/rules";
import { api, expectError, ingestOk, locationPath, parsed, storedEvents } from "./support/api";
import { reading } from "./support/events";

const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}` };
const bridge = { authorization: `Bearer ${env.INGEST_TOKEN}` };

const votes = (location: string, deviceId: string, values: number[]) => values.map((vote) => reading(location, { deviceId, vote }));
const actionsOf = (events: LogEvent[]) => events.filter((e) => e.type !== "reading");
const putRules = (location: string, body: unknown, headers: Record<string, string> = admin) =>
  api(locationPath(location, "/rules"), { method: "PUT", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("the default rule (the talk's LED)", () => {
  it("raises an alert and issues ON when a device's score falls below 0.7 over 3 votes, once", async () => {
    const loc = "act-default";
    await ingestOk(votes(loc, "led-1", [0, 0]));
    expect(actionsOf(await storedEvents(loc))).toEqual([]); // 2 votes: not enough samples

    await ingestOk(votes(loc, "led-1", [0]));
    const [raised, command] = actionsOf(await storedEvents(loc));
    expect(raised).toMatchObject({ seq: 4, id: "~alert-4", type: "alert-raised", ruleId: "low-score", deviceId: "led-1", value: 0, samples: 3 });
    expect(command).toMatchObject({ seq: 5, id: "~cmd-5", type: "command-issued", deviceId: "led-1", payload: "ON", cause: "~alert-4" });

    await ingestOk(votes(loc, "led-1", [0, 0.5]));
    expect(actionsOf(await storedEvents(loc))).toHaveLength(2); // still below: no repeat

    const alerts = await parsed(await api(locationPath(loc, "/alerts")), alertsResponse);
    expect(alerts).toMatchObject({ alerts: [{ ruleId: "low-score", deviceId: "led-1", seq: 4 }] });
  });

  it("clears and issues OFF when the score recovers", async () => {
    const loc = "act-recover";
    await ingestOk(votes(loc, "led-2", [0, 0, 0]));
    await ingestOk(votes(loc, "led-2", [1, 1, 1, 1, 1, 1, 1, 1])); // 8/11 = 0.727
    const actions = actionsOf(await storedEvents(loc));
    expect(actions.map((a) => a.type)).toEqual(["alert-raised", "command-issued", "alert-cleared", "command-issued"]);
    expect(actions[3]).toMatchObject({ type: "command-issued", payload: "OFF", deviceId: "led-2" });
  });

  it("judges each device on its own window", async () => {
    const loc = "act-per-device";
    await ingestOk([...votes(loc, "happy", [1, 1, 1]), ...votes(loc, "sad", [0, 0, 0])]);
    const actions = actionsOf(await storedEvents(loc));
    expect(actions.map((a) => ("deviceId" in a ? a.deviceId : null))).toEqual(["sad", "sad"]);
  });
});

describe("rules API", () => {
  it("serves the defaults until a location sets its own", async () => {
    const body = await parsed(await api(locationPath("act-rules-default", "/rules")), rulesResponse);
    expect(body).toEqual({ location: "act-rules-default", rules: DEFAULT_RULES, seq: null });
  });

  it("replaces the rule set as a log entry, clearing alerts of removed rules", async () => {
    const loc = "act-rules-set";
    await ingestOk(votes(loc, "dev", [0, 0, 0]));
    const rules: Rule[] = [{ id: "humid", metric: "humidity", op: "above", threshold: 80, minSamples: 1, raise: "DRY", clear: "STOP", windowMinutes: 60 }];
    const body = await parsed(await putRules(loc, { rules }), rulesResponse);
    expect(body).toEqual({ location: loc, rules, seq: 6 });
    const actions = actionsOf(await storedEvents(loc));
    expect(actions.slice(2).map((a) => a.type)).toEqual(["rules-set", "alert-cleared", "command-issued"]);
    expect(actions[4]).toMatchObject({ payload: "OFF", ruleId: "low-score" });

    await ingestOk([reading(loc, { deviceId: "dev", vote: undefined, humidity: 90 })]);
    expect(actionsOf(await storedEvents(loc)).slice(-2)).toMatchObject([
      { type: "alert-raised", ruleId: "humid", deviceId: "dev", value: 90 },
      { type: "command-issued", payload: "DRY" },
    ]);
  });

  it("fills defaults for minSamples, payloads and windowMinutes", async () => {
    const body = await parsed(await putRules("act-rules-defaults", { rules: [{ id: "cold", metric: "temperature", op: "below", threshold: 15 }] }), rulesResponse);
    expect(body.rules).toEqual([{ id: "cold", metric: "temperature", op: "below", threshold: 15, minSamples: 1, raise: "ON", clear: "OFF", windowMinutes: 60 }]);
  });

  it("needs the admin token", async () => {
    await expectError(await putRules("act-auth", { rules: [] }, {}), 401, "missing bearer token");
    await expectError(await putRules("act-auth", { rules: [] }, { authorization: "Bearer nope" }), 401, "invalid bearer token");
    await expectError(await putRules("act-auth", { rules: [] }, bridge), 401, "invalid bearer token");
  });

  const ok = { id: "r", metric: "score", op: "below", threshold: 0.5 };
  const bad: [string, unknown, string][] = [
    ["not JSON", "{rules:", "body is not valid JSON"],
    ["no rules array", {}, "rules: body must be an object with a `rules` array"],
    ["unknown metric", { rules: [{ ...ok, metric: "pressure" }] }, 'rules.0.metric: metric must be "score", "temperature", "humidity", "sad-share", "votes" or "offline"'],
    ["sad-share threshold as a percentage", { rules: [{ ...ok, scope: "location", metric: "sad-share", op: "above", threshold: 50 }] }, "rules.0.threshold: a sad-share threshold must be between 0 and 1"],
    ["votes threshold not whole", { rules: [{ ...ok, scope: "location", metric: "votes", threshold: 2.5 }] }, "rules.0.threshold: a votes threshold must be a whole number from 1 to 100000"],
    ["votes threshold 0", { rules: [{ ...ok, scope: "location", metric: "votes", threshold: 0 }] }, "rules.0.threshold: a votes threshold must be a whole number from 1 to 100000"],
    ["votes for a device", { rules: [{ ...ok, metric: "votes", threshold: 3 }] }, 'rules.0.scope: the votes metric needs scope "location"'],
    ["offline threshold below 1", { rules: [{ ...ok, metric: "offline", op: "above", threshold: 0.5 }] }, "rules.0.threshold: an offline threshold must be between 1 and 1000 (multiples of the device's expected interval)"],
    ["offline op below", { rules: [{ ...ok, metric: "offline", threshold: 3 }] }, 'rules.0.op: an offline rule\'s op must be "above" (silent for more than threshold × the interval)'],
    ["offline for the location", { rules: [{ ...ok, metric: "offline", op: "above", threshold: 3, scope: "location" }] }, 'rules.0.scope: an offline rule judges each device: scope must be "device"'],
    ["unknown op", { rules: [{ ...ok, op: "equals" }] }, 'rules.0.op: op must be "below" or "above"'],
    ["score threshold past 1", { rules: [{ ...ok, threshold: 1.5 }] }, "rules.0.threshold: a score threshold must be between 0 and 1"],
    ["humidity threshold past 100", { rules: [{ ...ok, metric: "humidity", threshold: 120 }] }, "rules.0.threshold: a humidity threshold must be between 0 and 100"],
    ["minSamples 0", { rules: [{ ...ok, minSamples: 0 }] }, "rules.0.minSamples: minSamples must be at least 1"],
    ["threshold a string", { rules: [{ ...ok, threshold: "0.5" }] }, "rules.0.threshold: threshold must be a finite number"],
    ["duplicate ids", { rules: [ok, ok] }, 'rules.1.id: duplicate rule id "r"'],
    ["odd rule id", { rules: [{ ...ok, id: "Low Score" }] }, "rules.0.id: rule id may hold only lowercase letters, digits and '-', starting with a letter or digit"],
    ["unknown field", { rules: [{ ...ok, colour: "red" }] }, 'rules.0: Unrecognized key: "colour"'],
    ["empty payload", { rules: [{ ...ok, raise: "" }] }, "rules.0.raise: command payload must not be empty"],
    ["51 rules", { rules: Array.from({ length: 51 }, (_, i) => ({ ...ok, id: `r${i}` })) }, "rules: at most 50 rules per location"],
    ["windowMinutes 0", { rules: [{ ...ok, windowMinutes: 0 }] }, "rules.0.windowMinutes: windowMinutes must be at least 1"],
    ["windowMinutes 1441", { rules: [{ ...ok, windowMinutes: 1441 }] }, "rules.0.windowMinutes: windowMinutes must be at most 1440 (24 hours)"],
    ["windowMinutes 1.5", { rules: [{ ...ok, windowMinutes: 1.5 }] }, "rules.0.windowMinutes: windowMinutes must be a whole number of minutes"],
    ["windowMinutes a string", { rules: [{ ...ok, windowMinutes: "60" }] }, "rules.0.windowMinutes: windowMinutes must be a number"],
  ];
  it.each(bad)("rejects %s with 400 and changes nothing", async (_, body, issue) => {
    const loc = "act-bad-rules";
    const res = await putRules(loc, body);
    const error = await res.json<{ error: string; issues: string[] }>();
    expect(res.status).toBe(400);
    expect([error.error, ...error.issues]).toContain(issue);
    expect(await parsed(await api(locationPath(loc, "/rules")), rulesResponse)).toEqual({ location: loc, rules: DEFAULT_RULES, seq: null });
    expect(await storedEvents(loc)).toEqual([]);
  });
});

/** Replays the log's readings commit by commit through the pure decision, as the object did live. */
function replayDecisions(events: LogEvent[], commits: { first_seq: number; count: number; recorded_at: number }[]): Action[][] {
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  const set = emptyProjectionSet();
  let rules = DEFAULT_RULES;
  const raised = new Set<string>();
  const out: Action[][] = [];
  const windowsAt =
    (now: number): WindowOf =>
    (rule, deviceId) =>
      deviceWindows(set.minutes.values(), now, [deviceId], ruleSpan(rule)).get(deviceId)!;
  for (const c of commits) {
    const entries = Array.from({ length: c.count }, (_, i) => bySeq.get(c.first_seq + i)!);
    const readings = entries.filter((e) => e.type === "reading");
    const rulesSet = entries.find((e) => e.type === "rules-set");
    let decided: Action[] = [];
    if (readings.length > 0) {
      for (const r of readings) evolve(set, { deviceId: r.deviceId, occurredAt: Date.parse(r.occurredAt), vote: r.vote } as ReadingFact);
      decided = judge(rules, raised, new Set(readings.map((r) => r.deviceId)), windowsAt(c.recorded_at));
    } else if (rulesSet) {
      const heard = new Set([...set.minutes.values()].flatMap((m) => [...m.devices.keys()]));
      decided = judge(rulesSet.rules, raised, heard, windowsAt(c.recorded_at), rulesReplaced(rules, rulesSet.rules));
      rules = rulesSet.rules;
    }
    for (const a of decided) {
      if (a.type === "alert-raised") raised.add(alertKey(a.ruleId, a.deviceId!));
      if (a.type === "alert-cleared") raised.delete(alertKey(a.ruleId, a.deviceId!));
    }
    out.push(decided);
  }
  return out;
}

describe("replaying the log gives the same alerts (property)", () => {
  it("live decisions equal a pure replay of the committed batches, and rebuild keeps the action projections", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(fc.record({ device: fc.constantFrom("p1", "p2", "p3"), vote: fc.constantFrom(0, 0.5, 1), dup: fc.boolean() }), {
            minLength: 1,
            maxLength: 8,
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.option(fc.integer({ min: 0, max: 7 }), { nil: null }),
        async (batches, rulesAt) => {
          const loc = `act-prop-${++run}`;
          const sent: { id: string }[] = [];
          for (const [i, batch] of batches.entries()) {
            if (rulesAt === i) {
              await putRules(loc, { rules: [{ id: "strict", metric: "score", op: "below", threshold: 0.9, minSamples: 2 }] });
            }
            const events = batch.map((b) => {
              const e = b.dup && sent.length > 0 ? { ...reading(loc, { deviceId: b.device, vote: b.vote }), id: sent[0]!.id } : reading(loc, { deviceId: b.device, vote: b.vote });
              sent.push(e);
              return e;
            });
            await ingestOk(events);
          }
          const stub = stubFor(loc);
          const events = await storedEvents(loc);
          const commits = await runInDurableObject(stub, (_, state) =>
            state.storage.sql.exec<{ first_seq: number; count: number; recorded_at: number }>("SELECT first_seq, count, recorded_at FROM commits ORDER BY first_seq").toArray(),
          );
          const replayed = replayDecisions(events, commits).flat();
          const live = events.filter((e) => e.type === "alert-raised" || e.type === "alert-cleared" || e.type === "command-issued");
          expect(live.map((e) => ({ type: e.type, deviceId: "deviceId" in e ? e.deviceId : null }))).toEqual(
            replayed.map((a) => ({ type: a.type, deviceId: a.deviceId })),
          );

          const before = await stub.projectionRows();
          await stub.rebuild();
          expect(await stub.projectionRows()).toEqual(before);
        },
      ),
      { numRuns: 20 },
    );
  });
});
