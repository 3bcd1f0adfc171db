import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { alertsResponse, channelsResponse, type LogEvent } from "../../protocol";
import { settingsResponse } from "../../protocol/settings";
import { api, ingestOk, locationPath, parsed, storedEvents } from "./support/api";
import { reading } from "./support/events";
import { until } from "./support/until";

/**
 * The daily digest in workerd: the location's own alarm (never called here)
 * finds it due and commits it with its notifications; the figures are counted
 * here by hand from the votes sent. Delivery itself (signatures, the body as
 * received) is tested against a real receiver in test/node/digest-e2e.test.ts.
 */

const DAY = 86_400_000;
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
const SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
// Port 9 (discard): nothing listens, so the digest's delivery fails and stays pending, retried quietly.
const channel = (id: string, events: string[], locations: string[]) => ({ id, type: "webhook", url: "http://127.0.0.1:9/hooks", secret: SECRET, events, locations });

const putChannels = async (channels: unknown[]) =>
  parsed(await api("/api/v1/notifications", { method: "PUT", headers: admin, body: JSON.stringify({ channels }) }), channelsResponse);
const putSettings = async (location: string, settings: unknown) =>
  parsed(await api(locationPath(location, "/settings"), { method: "PUT", headers: admin, body: JSON.stringify(settings) }), settingsResponse);
const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
const alarmOf = (location: string) => runInDurableObject(stubFor(location), (_, state) => state.storage.getAlarm());
const ofType = <T extends LogEvent["type"]>(events: LogEvent[], type: T) => events.filter((e): e is Extract<LogEvent, { type: T }> => e.type === type);

/** Votes at offsets (ms) from the start of UTC day `day`, from one device. */
const votesOn = (location: string, day: number, votes: [number, 0 | 0.5 | 1][]) =>
  votes.map(([offset, vote]) => reading(location, { deviceId: "door-1", vote, occurredAt: new Date(day * DAY + offset).toISOString() }));

describe("the daily digest, by the location's alarm", () => {
  it("digestAt already passed today: yesterday's digest is committed at once with one notification per digest channel; a later alarm commits none", async () => {
    const location = "digest-wk";
    const today = Math.floor(Date.now() / DAY);
    const H = 3_600_000;
    const yesterday: [number, 0 | 0.5 | 1][] = [[H, 1], [2 * H, 0.5], ...([0, 0, 0, 1, 1] as const).map((v, i): [number, 0 | 0.5 | 1] => [10 * H + i * 60_000, v]), [DAY - 1_000, 0]];
    const before: [number, 0 | 0.5 | 1][] = [[5 * H, 1], [6 * H, 1]];
    await ingestOk([...votesOn(location, today - 1, yesterday), ...votesOn(location, today - 2, before), ...votesOn(location, today, [[0, 0]])]);
    await putChannels([channel("digest-wk", ["digest"], [location]), channel("alerts-wk", ["alert-raised"], [location]), channel("other-wk", ["digest"], ["digest-other"])]);

    await putSettings(location, { timeZone: "UTC", digestAt: "00:00", displayName: "Workers hall" });
    const log = await until("the digest in the log", Date.now() + 20_000, async () => {
      const events = await storedEvents(location);
      return ofType(events, "notification-queued").length > 0 ? events : null;
    });

    const [due, ...more] = ofType(log, "digest-due");
    expect(more).toEqual([]);
    const date = new Date((today - 1) * DAY).toISOString().slice(0, 10);
    const sum = yesterday.reduce((a, [, v]) => a + v, 0);
    expect(due).toMatchObject({
      occurredAt: new Date(today * DAY).toISOString(),
      displayName: "Workers hall",
      digest: {
        date,
        timeZone: "UTC",
        votes: yesterday.length,
        happy: 3,
        neutral: 1,
        sad: 4,
        worstHour: { local: `${date}T10:00:00+00:00`, votes: 5, score: 2 / 5 },
        previous: { votes: 2, score: 1, happy: 2, neutral: 0, sad: 0 },
        change: { votes: yesterday.length - 2 },
      },
    });
    expect(due!.digest.score).toBeCloseTo(sum / yesterday.length, 12);
    expect(due!.digest.change.score).toBeCloseTo(sum / yesterday.length - 1, 12);
    // One notification, for the channel that takes digests for this location, naming the digest-due entry.
    expect(ofType(log, "notification-queued")).toEqual([expect.objectContaining({ notificationId: `digest-${date}.digest-wk`, channelId: "digest-wk", alertId: due!.id, event: "digest" })]);

    // The alerts route lists it among the notifications (held to the OpenAPI document by `parsed`).
    const alerts = await parsed(await api(locationPath(location, "/alerts")), alertsResponse);
    expect(alerts.notifications).toEqual([expect.objectContaining({ id: `digest-${date}.digest-wk`, alertId: due!.id, event: "digest", status: "pending" })]);

    // The delivery fails and is retried by later alarms; none of them commits a second digest.
    await until("a retry by a later alarm", Date.now() + 30_000, async () => {
      const { notifications } = await parsed(await api(locationPath(location, "/alerts")), alertsResponse);
      return notifications[0]!.attempts >= 2 ? true : null;
    });
    const after = await storedEvents(location);
    expect(ofType(after, "digest-due")).toHaveLength(1);
    expect(ofType(after, "notification-queued")).toHaveLength(1);
    await putChannels([]);
  });

  it("no channel takes it: the digest-due alone, then the alarm waits for tomorrow's digestAt; a rebuild keeps it once", async () => {
    const location = "digest-quiet";
    const today = Math.floor(Date.now() / DAY);
    await ingestOk(votesOn(location, today - 1, [[3_600_000, 1]]));
    await putSettings(location, { timeZone: "UTC", digestAt: "00:00" });
    const log = await until("the digest in the log", Date.now() + 20_000, async () => {
      const events = await storedEvents(location);
      return ofType(events, "digest-due").length > 0 ? events : null;
    });
    expect(ofType(log, "digest-due")).toEqual([expect.objectContaining({ digest: expect.objectContaining({ votes: 1, score: 1 }) })]);
    expect(ofType(log, "notification-queued")).toEqual([]);
    // Once a day: the next alarm is tomorrow's digest (after the fleet update the first write asked for).
    await until("the alarm set for tomorrow's digest", Date.now() + 20_000, async () => ((await alarmOf(location)) === (today + 1) * DAY ? true : null));

    await stubFor(location).rebuild();
    expect(await runInDurableObject(stubFor(location), (_, state) => state.storage.getAlarm())).toBe((today + 1) * DAY);
    expect(ofType(await storedEvents(location), "digest-due")).toHaveLength(1);
  });

  it("without digestAt: no digest and no alarm for one", async () => {
    const location = "digest-none";
    const today = Math.floor(Date.now() / DAY);
    await ingestOk(votesOn(location, today - 1, [[3_600_000, 0]]));
    await putSettings(location, { timeZone: "UTC", displayName: "No digest" });
    await until("no alarm", Date.now() + 20_000, async () => ((await alarmOf(location)) === null ? true : null));
    expect(ofType(await storedEvents(location), "digest-due")).toEqual([]);
  });
});
