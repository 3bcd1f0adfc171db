import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE, type LogEvent, type WindowFrame } from "../../protocol";
import { api, ingestOk, locationPath, storedEvents } from "./support/api";
import { HOUR, MINUTE, isoFromNow, reading } from "./support/events";
import { LiveClient } from "./support/live-client";
import { until } from "./support/until";

/**
 * Time alone, through the object's real alarm in workerd: nothing here calls
 * `alarm()` by hand. The two waiting tests take up to a minute each (a
 * minute bucket must leave a window), so they run concurrently.
 */
const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}` };
const alarmOf = (location: string) => runInDurableObject(stubFor(location), (_, state) => state.storage.getAlarm());


describe.concurrent("alarms: what time alone changes", () => {
  it("a silent device's alert clears by itself with windowMinutes 1, and OFF is issued within 75 s of its last vote", { timeout: 90_000 }, async () => {
    const location = "alarm-silent";
    const rules = [{ id: "low-score", metric: "score", op: "below", threshold: 0.7, minSamples: 3, windowMinutes: 1 }];
    const put = await api(locationPath(location, "/rules"), { method: "PUT", headers: admin, body: JSON.stringify({ rules }) });
    expect(put.status).toBe(200);
    await ingestOk([0, 0, 0].map((vote) => reading(location, { deviceId: "quiet-1", vote })));
    const lastVoteAt = Date.now();
    expect((await storedEvents(location)).map((e) => e.type)).toContain("alert-raised");

    const cleared = await until("the alert to clear", lastVoteAt + 75_000, async () => {
      const events = await storedEvents(location);
      const clear = events.find((e) => e.type === "alert-cleared");
      return clear ? events : undefined;
    });
    const clear = cleared.find((e) => e.type === "alert-cleared")!;
    const off = cleared.find((e): e is Extract<LogEvent, { type: "command-issued" }> => e.type === "command-issued" && e.payload === "OFF");
    expect(clear).toMatchObject({ deviceId: "quiet-1", ruleId: "low-score", samples: 0, value: null });
    expect(off).toMatchObject({ deviceId: "quiet-1", cause: clear.id });
    expect(Date.parse(clear.recordedAt) - lastVoteAt).toBeLessThanOrEqual(75_000);
    const alerts = (await (await api(locationPath(location, "/alerts"))).json()) as { alerts: unknown[] };
    expect(alerts.alerts).toEqual([]);
  });

  it("open sockets get the aged window at the minute its oldest bucket leaves, without a new event", { timeout: 90_000 }, async () => {
    const location = "alarm-window";
    // Dated 59 minutes ago: its minute leaves the live hour within the next 60 s.
    await ingestOk([reading(location, { vote: 1, occurredAt: isoFromNow(-59 * MINUTE) }), reading(location, { vote: 0 })]);
    const client = await LiveClient.connect(location);
    const snapshot = await client.nextOfType("snapshot");
    expect(snapshot.window).toMatchObject({ votes: 2, score: 0.5 });
    const frame: WindowFrame = await client.nextOfType("window", 70_000);
    expect(frame).toMatchObject({ type: "window", location, head: 2 });
    expect(frame.window).toMatchObject({ votes: 1, score: 0 });
    client.close();
  });

  it("sets no alarm when nothing can change: readings outside every window, no alert, no socket", async () => {
    const location = "alarm-idle";
    await ingestOk([reading(location, { vote: 1, occurredAt: isoFromNow(-3 * HOUR) })]);
    // An alarm set for the fleet update may still be pending; once it ran, nothing else is due and none is set.
    await until("no alarm", Date.now() + 5_000, async () => ((await alarmOf(location)) === null ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await alarmOf(location)).toBeNull();
    // A reading in the live hour makes its aging due, about an hour after its minute (once the fleet update ran).
    await ingestOk([reading(location, { vote: 1 })]);
    const at = await until("the aging alarm", Date.now() + 5_000, async () => {
      const alarm = await alarmOf(location);
      return alarm !== null && alarm > Date.now() + 58 * MINUTE ? alarm : undefined;
    });
    expect(at).toBeLessThanOrEqual(Date.now() + 60 * MINUTE + 1);
  });
});

describe("sockets per location", () => {
  it("beyond MAX_SOCKETS_PER_LOCATION (20 in tests) a new socket is closed with 1013; one closing frees a place", async () => {
    const location = "socket-cap";
    const clients = await Promise.all(Array.from({ length: 20 }, () => LiveClient.connect(location)));
    for (const c of clients) await c.nextOfType("snapshot");
    const refused = await LiveClient.connect(location);
    const closed = await refused.waitClosed();
    expect(closed.code).toBe(CLOSE.tryAgainLater);
    expect(closed.reason).toMatch(/20 live sockets/);

    clients[0]!.close();
    await clients[0]!.waitClosed();
    const admitted = await LiveClient.connect(location);
    expect((await admitted.nextOfType("snapshot")).location).toBe(location);
    for (const c of [...clients.slice(1), admitted]) c.close();
  });
});
