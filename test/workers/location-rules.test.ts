import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { alertsResponse, type LogEvent } from "../../protocol";
import { api, ingestOk, locationPath, parsed, storedEvents } from "./support/api";
import { reading } from "./support/events";
import { until } from "./support/until";

/**
 * The location-level metrics through the real worker and object: sad-share
 * from the minute buckets' sad counts, and "fewer than N votes" raised by the
 * object's own alarm when votes age out, with no event arriving (nothing here
 * calls `alarm()`).
 */
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}` };
const putRules = (location: string, rules: unknown[]) => api(locationPath(location, "/rules"), { method: "PUT", headers: admin, body: JSON.stringify({ rules }) });
const alertsOf = async (location: string) => (await parsed(await api(locationPath(location, "/alerts")), alertsResponse)).alerts;


describe.concurrent("location rules: sad-share and votes", () => {
  it("sad-share: three sad of four votes from two devices raise one location alert; a happy majority clears it", async () => {
    const location = "lr-sad-share";
    expect((await putRules(location, [{ id: "sad-share", scope: "location", metric: "sad-share", op: "above", threshold: 0.5, minSamples: 4, windowMinutes: 15 }])).status).toBe(200);
    await ingestOk([reading(location, { deviceId: "t1", vote: 0 }), reading(location, { deviceId: "t2", vote: 0 }), reading(location, { deviceId: "t1", vote: 0.5 })]);
    expect(await alertsOf(location)).toEqual([]);
    await ingestOk([reading(location, { deviceId: "t2", vote: 0 })]);
    const [alert, ...rest] = await alertsOf(location);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ ruleId: "sad-share", value: 0.75, samples: 4 });
    expect(alert).not.toHaveProperty("deviceId");
    await ingestOk([1, 1, 1].map((vote) => reading(location, { deviceId: "t1", vote })));
    expect(await alertsOf(location)).toEqual([]);
    const cleared = (await storedEvents(location)).find((e) => e.type === "alert-cleared");
    expect(cleared).toMatchObject({ ruleId: "sad-share", value: 3 / 7, samples: 7 });
  });

  it("votes below 2 during opening hours (none set: always open): raised at once, cleared by two votes, raised again by the alarm when they leave the window", { timeout: 120_000 }, async () => {
    const location = "lr-votes";
    expect((await putRules(location, [{ id: "quiet", scope: "location", metric: "votes", op: "below", threshold: 2, windowMinutes: 1 }])).status).toBe(200);
    expect(await alertsOf(location)).toMatchObject([{ ruleId: "quiet", value: 0, samples: 0 }]);
    const votedAt = Date.now();
    await ingestOk([0, 1].map((vote) => reading(location, { vote, occurredAt: new Date(votedAt).toISOString() })));
    expect(await alertsOf(location)).toEqual([]);
    // Nothing else arrives: only the object's alarm can raise it again, once the votes' minute leaves the 1-minute window.
    const again = await until("the alarm to raise the quiet alert again", votedAt + 100_000, async () => {
      const raised = (await storedEvents(location)).filter((e): e is Extract<LogEvent, { type: "alert-raised" }> => e.type === "alert-raised");
      return raised.length === 2 ? raised[1] : undefined;
    });
    expect(again).toMatchObject({ ruleId: "quiet", metric: "votes", value: 0, samples: 0 });
    expect(Date.parse(again.recordedAt)).toBeGreaterThan(Math.floor(votedAt / 60_000) * 60_000 + 60_000);
    const types = (await storedEvents(location)).map((e) => e.type).filter((t) => t.startsWith("alert-"));
    expect(types).toEqual(["alert-raised", "alert-cleared", "alert-raised"]);
  });

  it("votes below N while the opening hours say closed: the rule is not in force, no alert", async () => {
    const location = "lr-votes-closed";
    const now = new Date();
    // Open only on a weekday that is not today (UTC): closed now and for the whole window.
    const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
    const other = days[(now.getUTCDay() + 3) % 7]!;
    const settings = await api(locationPath(location, "/settings"), { method: "PUT", headers: admin, body: JSON.stringify({ timeZone: "UTC", openingHours: { [other]: [["09:00", "17:00"]] } }) });
    expect(settings.status).toBe(200);
    expect((await putRules(location, [{ id: "quiet", scope: "location", metric: "votes", op: "below", threshold: 5, windowMinutes: 60 }])).status).toBe(200);
    await ingestOk([reading(location, { vote: 1 })]);
    expect(await alertsOf(location)).toEqual([]);
    expect((await storedEvents(location)).filter((e) => e.type === "alert-raised")).toEqual([]);
  });
});
