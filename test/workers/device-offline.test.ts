import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { alertsResponse, type LogEvent } from "../../protocol";
import { registryStub } from "../../durable-objects/device-registry";
import { api, expectError, ingestOk, locationPath, parsed, storedEvents } from "./support/api";
import { reading } from "./support/events";
import { until } from "./support/until";

/**
 * Pushed device profiles and the "device offline" rule through the real
 * worker, the registry and the locations in workerd: the registry tells a
 * device's location (and, on a move, the one it left) of its profile and
 * retries until the location has it; the location's own alarm (never called
 * by hand here) raises the offline alert, and a reading clears it.
 */
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
const alarmOf = (location: string) => runInDurableObject(stubFor(location), (_, state) => state.storage.getAlarm());

const putDevice = (id: string, body: Record<string, unknown>) =>
  api(`/api/v1/devices/${encodeURIComponent(id)}`, { method: "PUT", headers: admin, body: JSON.stringify(body) });
const putRules = (location: string, rules: unknown[]) => api(locationPath(location, "/rules"), { method: "PUT", headers: admin, body: JSON.stringify({ rules }) });


const profileEntries = async (location: string) =>
  (await storedEvents(location)).filter((e): e is Extract<LogEvent, { type: "device-profiles-set" }> => e.type === "device-profiles-set");

describe("the registry pushes device profiles to the locations", () => {
  it("registered → the location holds the profile; the same PUT again adds nothing; a move tells both; removal tells the last", async () => {
    const ok = await putDevice("push-1", { name: "Door", location: "Push A", enabled: true, expectedIntervalSeconds: 30 });
    expect(ok.status).toBe(200);
    // Told before the PUT answered.
    expect((await profileEntries("Push A")).map((e) => e.profiles)).toEqual([[{ deviceId: "push-1", profile: { name: "Door", expectedIntervalSeconds: 30, enabled: true } }]]);

    expect((await putDevice("push-1", { name: "Door", location: "Push A", enabled: true, expectedIntervalSeconds: 30 })).status).toBe(200);
    // Tags are no part of what the location holds: the push of that change is a no-op there.
    expect((await putDevice("push-1", { name: "Door", location: "Push A", enabled: true, expectedIntervalSeconds: 30, tags: ["x"] })).status).toBe(200);
    expect(await profileEntries("Push A")).toHaveLength(1);

    expect((await putDevice("push-1", { name: "Door", location: "Push B", enabled: false, expectedIntervalSeconds: 30, tags: ["x"] })).status).toBe(200);
    expect((await profileEntries("Push A")).at(-1)!.profiles).toEqual([{ deviceId: "push-1", profile: null }]);
    expect((await profileEntries("Push B")).at(-1)!.profiles).toEqual([{ deviceId: "push-1", profile: { name: "Door", expectedIntervalSeconds: 30, enabled: false } }]);

    expect((await api("/api/v1/devices/push-1", { method: "DELETE", headers: admin })).status).toBe(204);
    expect((await profileEntries("Push B")).at(-1)!.profiles).toEqual([{ deviceId: "push-1", profile: null }]);
    expect(await profileEntries("Push A")).toHaveLength(2);
    expect(await registryStub(env).pendingProfiles()).toBe(0);
  });

  it("a push the location fails is retried by the registry's alarm until the location has it", { timeout: 30_000 }, async () => {
    const location = "Push Retry";
    expect((await putDevice("retry-1", { location, enabled: true, expectedIntervalSeconds: 10 })).status).toBe(200);
    expect(await profileEntries(location)).toHaveLength(1);
    // The location fails every commit while its log table is away (what a failing call looks like from the registry).
    await runInDurableObject(stubFor(location), (_, state) => void state.storage.sql.exec("ALTER TABLE events RENAME TO events_away"));
    try {
      const changed = await putDevice("retry-1", { location, enabled: true, expectedIntervalSeconds: 20 });
      // The registry committed the change: the admin hears so; the location has not got it.
      expect(changed.status).toBe(200);
      expect(await registryStub(env).pendingProfiles()).toBe(1);
      expect(await runInDurableObject(registryStub(env), (_, state) => state.storage.getAlarm())).not.toBeNull();
    } finally {
      await runInDurableObject(stubFor(location), (_, state) => void state.storage.sql.exec("ALTER TABLE events_away RENAME TO events"));
    }
    // No request reaches the registry now: only its own alarm can deliver the change.
    const entries = await until("the location to get the retried profile", Date.now() + 20_000, async () => {
      const found = await profileEntries(location);
      return found.length === 2 ? found : undefined;
    });
    expect(entries[1]!.profiles).toEqual([{ deviceId: "retry-1", profile: { name: null, expectedIntervalSeconds: 20, enabled: true } }]);
    expect(await registryStub(env).pendingProfiles()).toBe(0);
  });

  it("a change committed but never pushed (no alarm: the instance went away first) is pushed by the next instance", { timeout: 30_000 }, async () => {
    const location = "Push Resume";
    expect((await putDevice("resume-1", { location, enabled: true, expectedIntervalSeconds: 10 })).status).toBe(200);
    await runInDurableObject(stubFor(location), (_, state) => void state.storage.sql.exec("ALTER TABLE events RENAME TO events_away"));
    try {
      expect((await putDevice("resume-1", { location, enabled: false, expectedIntervalSeconds: 10 })).status).toBe(200);
      // As if the registry had stopped between its commit and its push: the row is queued, no alarm set.
      await runInDurableObject(registryStub(env), (_, state) => state.storage.deleteAlarm());
      expect(await registryStub(env).pendingProfiles()).toBe(1);
    } finally {
      await runInDurableObject(stubFor(location), (_, state) => void state.storage.sql.exec("ALTER TABLE events_away RENAME TO events"));
    }
    await evictDurableObject(registryStub(env));
    // Any call wakes a fresh instance, which finds the queued row and sets the alarm that pushes it.
    expect(await registryStub(env).size()).toBeGreaterThan(0);
    const entries = await until("the queued profile to reach the location", Date.now() + 20_000, async () => {
      const found = await profileEntries(location);
      return found.length === 2 ? found : undefined;
    });
    expect(entries[1]!.profiles).toEqual([{ deviceId: "resume-1", profile: { name: null, expectedIntervalSeconds: 10, enabled: false } }]);
  });

  it("the profiles survive eviction (a repeated push adds nothing) and a rebuild writes the same rows", async () => {
    const location = "Push Evicted";
    const profile = { name: "Hall", location, enabled: true, expectedIntervalSeconds: 3600 };
    expect((await putDevice("evict-1", profile)).status).toBe(200);
    expect((await putDevice("evict-2", { location, enabled: true, expectedIntervalSeconds: 60 })).status).toBe(200);
    await ingestOk([reading(location, { deviceId: "evict-1", vote: 1 })]);
    const stub = stubFor(location);
    const before = await stub.projectionRows();
    expect(before).toMatchObject({
      profiles: [
        ["evict-1", { name: "Hall", expectedIntervalSeconds: 3600, enabled: true, since: expect.any(Number) }],
        ["evict-2", { name: null, expectedIntervalSeconds: 60, enabled: true, since: expect.any(Number) }],
      ],
    });
    await evictDurableObject(stub);
    // A fresh instance loaded the profiles: the same profile pushed again (a tag changed at the registry) is no change.
    expect((await putDevice("evict-1", { ...profile, tags: ["t"] })).status).toBe(200);
    expect(await profileEntries(location)).toHaveLength(2);
    await stub.rebuild();
    expect(await stub.projectionRows()).toEqual(before);
  });

  it("refuses a malformed push at the location's RPC boundary, storing nothing", async () => {
    const location = "Push Bad";
    const refusal = await stubFor(location)
      .setDeviceProfiles(location, [{ deviceId: "bad#1", profile: { name: null, expectedIntervalSeconds: 0, enabled: true } }])
      .then(() => "accepted", (e: unknown) => String(e));
    expect(refusal).toMatch(/invalid device profiles: 0\.deviceId: .*; 0\.profile\.expectedIntervalSeconds: /);
    expect(await storedEvents(location)).toEqual([]);
  });
});

describe("the offline rule, by the location's real alarm", () => {
  it("raises an alert for a registered device silent more than threshold × interval, and a reading clears it", { timeout: 45_000 }, async () => {
    const location = "Offline Alarm";
    expect((await putRules(location, [{ id: "silent", metric: "offline", op: "above", threshold: 2 }])).status).toBe(200);
    const registeredAt = Date.now();
    expect((await putDevice("quiet-1", { name: "Quiet", location, enabled: true, expectedIntervalSeconds: 2 })).status).toBe(200);
    // Without an interval a device never goes offline.
    expect((await putDevice("loud-1", { location, enabled: true })).status).toBe(200);

    // Only reads reach the location from now on: the alert can come from its alarm alone.
    const raised = await until("the offline alert", Date.now() + 30_000, async () => (await storedEvents(location)).find((e) => e.type === "alert-raised"));
    expect(raised).toMatchObject({ ruleId: "silent", deviceId: "quiet-1", metric: "offline", op: "above", threshold: 2, samples: 0 });
    expect(Date.parse(raised.occurredAt)).toBeGreaterThan(registeredAt + 4_000);
    expect((raised as { value: number }).value).toBeGreaterThan(2);
    const { alerts } = await parsed(await api(locationPath(location, "/alerts")), alertsResponse);
    expect(alerts).toEqual([expect.objectContaining({ ruleId: "silent", deviceId: "quiet-1" })]);
    // Alerted: nothing else can change by time alone (the live window is empty), so no alarm is left.
    await until("the alarm to be gone", Date.now() + 10_000, async () => ((await alarmOf(location)) === null ? true : undefined));

    await ingestOk([reading("anywhere", { deviceId: "quiet-1", temperature: 21 })]);
    const after = await storedEvents(location);
    expect(after.find((e) => e.type === "alert-cleared")).toMatchObject({ ruleId: "silent", deviceId: "quiet-1", metric: "offline" });
    // The device is silent: its alert commands nothing.
    expect(after.filter((e) => e.type === "command-issued")).toEqual([]);
    expect((await parsed(await api(locationPath(location, "/alerts")), alertsResponse)).alerts).toEqual([]);
  });

  it("answers an offline rule with a bad threshold with 400 and every reason, storing nothing", async () => {
    const location = "Offline Bad";
    await expectError(await putRules(location, [{ id: "silent", metric: "offline", op: "below", threshold: 0 }]), 400, "invalid rules", [
      "rules.0.threshold: an offline threshold must be between 1 and 1000 (multiples of the device's expected interval)",
      'rules.0.op: an offline rule\'s op must be "above" (silent for more than threshold × the interval)',
    ]);
    expect(await storedEvents(location)).toEqual([]);
  });
});
