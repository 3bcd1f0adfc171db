import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ackResponse, alertsResponse, channelsResponse } from "../../protocol";
import { api, expectError, ingestOk, locationPath, parsed, storedEvents } from "./support/api";
import { reading } from "./support/events";

/**
 * The notification channels' route and acknowledgements, in workerd. Deliveries
 * themselves (signatures, retries, restarts) are tested against a real receiver
 * in test/node/notifications-e2e.test.ts.
 */

const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}` };
// 32 bytes of key, base64.
const SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
// Port 9 (discard) on this machine: nothing listens, so any delivery a test provokes fails at once and is retried quietly.
const channel = { id: "ops", type: "webhook", url: "http://127.0.0.1:9/hooks", secret: SECRET, events: ["alert-raised", "alert-cleared"] };

const putChannels = (body: unknown, headers: Record<string, string> = admin) =>
  api("/api/v1/notifications", { method: "PUT", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
const getChannels = async () => parsed(await api("/api/v1/notifications", { headers: admin }), channelsResponse);
const ack = (location: string, id: string, body?: unknown, headers: Record<string, string> = admin) =>
  api(locationPath(location, `/alerts/${encodeURIComponent(id)}/ack`), {
    method: "POST",
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
/** Three sad votes from one device: the default rule raises an alert. */
const raiseAlert = async (location: string, deviceId = "sad-1") => {
  await ingestOk([0, 0, 0].map((vote) => reading(location, { deviceId, vote })));
  const { alerts } = await parsed(await api(locationPath(location, "/alerts")), alertsResponse);
  const alert = alerts.find((a) => a.deviceId === deviceId);
  expect(alert).toBeDefined();
  return alert!;
};

describe("PUT/GET /api/v1/notifications", () => {
  it("needs the admin token both ways", async () => {
    await expectError(await api("/api/v1/notifications"), 401, "missing bearer token");
    await expectError(await putChannels({ channels: [] }, { authorization: `Bearer ${env.INGEST_TOKEN}` }), 401, "invalid bearer token");
  });

  it("stores a channel set and answers it with the secret hidden", async () => {
    const before = await getChannels();
    const put = await parsed(await putChannels({ channels: [channel, { ...channel, id: "chat", url: "https://hooks.example.org/x", events: ["alert-raised"], locations: ["MTC"] }] }), channelsResponse);
    expect(put.version).toBe(before.version + 1);
    expect(put.channels).toEqual([
      { id: "ops", type: "webhook", url: channel.url, secretHint: `whsec_…${SECRET.slice(-4)}`, events: ["alert-raised", "alert-cleared"] },
      { id: "chat", type: "webhook", url: "https://hooks.example.org/x", secretHint: `whsec_…${SECRET.slice(-4)}`, events: ["alert-raised"], locations: ["MTC"] },
    ]);
    expect(JSON.stringify(await getChannels())).not.toContain(SECRET.slice(6, -4));
    expect(await getChannels()).toEqual(put);
    await parsed(await putChannels({ channels: [] }), channelsResponse);
  });

  it("refuses bad channels with every reason, and changes nothing", async () => {
    await parsed(await putChannels({ channels: [channel] }), channelsResponse);
    const before = await getChannels();
    await expectError(await putChannels({ channels: [{ ...channel, url: "ftp://example.org/in" }] }), 400, "invalid channels", ["channels.0.url: url must be http(s), not ftp"]);
    await expectError(await putChannels({ channels: [{ ...channel, secret: "whsec_c2hvcnQ=" }] }), 400, "invalid channels", [
      "channels.0.secret: secret must hold at least 24 bytes (it holds 5); e.g. whsec_ + base64 of 32 random bytes",
    ]);
    await expectError(await putChannels({ channels: [channel, { ...channel, url: "mailto:x@example.org" }] }), 400, "invalid channels", [
      "channels.1.url: url must be http(s), not mailto",
      'channels.1.id: duplicate channel id "ops"',
    ]);
    await expectError(await putChannels("{not json"), 400, "body is not valid JSON");
    await expectError(await putChannels({ channels: [{ ...channel, events: ["sms"] }] }), 400, "invalid channels", ['channels.0.events.0: events may be "alert-raised", "alert-cleared" or "digest"']);
    expect(await getChannels()).toEqual(before);
    await parsed(await putChannels({ channels: [] }), channelsResponse);
  });
});

describe("POST …/alerts/{id}/ack", () => {
  it("records who saw an alert once, with a comment; the alerts route shows it", async () => {
    const loc = "ack-good";
    const alert = await raiseAlert(loc);
    expect(alert).toMatchObject({ id: `~alert-${alert.seq}`, acknowledgement: null, notifications: [] });

    const first = await parsed(await ack(loc, alert.id, { comment: "  Called the site manager  " }), ackResponse);
    expect(first).toMatchObject({ location: loc, alertId: alert.id, acknowledgement: { comment: "Called the site manager" } });
    const log = await storedEvents(loc);
    expect(log.at(-1)).toMatchObject({ type: "alert-acknowledged", id: `~ack-${first.acknowledgement.seq}`, alertId: alert.id, comment: "Called the site manager" });

    const { alerts } = await parsed(await api(locationPath(loc, "/alerts")), alertsResponse);
    expect(alerts[0]!.acknowledgement).toEqual(first.acknowledgement);

    // Once: a second acknowledgement is a conflict and adds nothing.
    await expectError(await ack(loc, alert.id, { comment: "again" }), 409, `alert ${alert.id} is already acknowledged`, [
      `acknowledged at ${first.acknowledgement.at}: Called the site manager`,
    ]);
    expect(await storedEvents(loc)).toEqual(log);
  });

  it("takes no body at all", async () => {
    const loc = "ack-no-body";
    const alert = await raiseAlert(loc);
    expect(await parsed(await ack(loc, alert.id), ackResponse)).toMatchObject({ acknowledgement: { comment: null } });
  });

  it("answers unknown alerts 404, bad ids and bodies 400, without the token 401; nothing is stored", async () => {
    const loc = "ack-bad";
    const alert = await raiseAlert(loc);
    const log = await storedEvents(loc);
    await expectError(await ack(loc, "~alert-999"), 404, `no alert ~alert-999 at ${loc}`);
    // A command's id is a system entry id, but not an alert's.
    const command = log.find((e) => e.type === "command-issued")!;
    await expectError(await ack(loc, command.id), 404, `no alert ${command.id} at ${loc}`);
    await expectError(await ack("ack-nowhere", alert.id), 404, `no alert ${alert.id} at ack-nowhere`);
    await expectError(await ack(loc, "alert-1"), 400, "invalid alert id", ["system entry ids look like ~kind-seq"]);
    await expectError(await ack(loc, alert.id, { comment: "x".repeat(501) }), 400, "invalid acknowledgement", ["comment: comment must be at most 500 characters"]);
    await expectError(await ack(loc, alert.id, { comment: 42 }), 400, "invalid acknowledgement", ["comment: comment must be a string"]);
    await expectError(await ack(loc, alert.id, { note: "x" }), 400, "invalid acknowledgement");
    await expectError(await ack(loc, alert.id, "[1,"), 400, "body is not valid JSON");
    await expectError(await ack(loc, alert.id, {}, {}), 401, "missing bearer token");
    await expectError(await ack(loc, alert.id, {}, { authorization: `Bearer ${env.INGEST_TOKEN}` }), 401, "invalid bearer token");
    expect(await storedEvents(loc)).toEqual(log);
  });
});

describe("a location rule in the object", () => {
  it("raises an alert naming no device, commands nobody, is acknowledged, and survives a rebuild unchanged", async () => {
    const loc = "loc-rule";
    const rules = { rules: [{ id: "site-low", scope: "location", metric: "score", op: "below", threshold: 0.5, minSamples: 4, windowMinutes: 15 }] };
    const put = await api(locationPath(loc, "/rules"), { method: "PUT", headers: admin, body: JSON.stringify(rules) });
    expect(put.status, await put.clone().text()).toBe(200);
    await ingestOk([reading(loc, { deviceId: "d1", vote: 0 }), reading(loc, { deviceId: "d1", vote: 0 }), reading(loc, { deviceId: "d2", vote: 0 })]);
    expect((await storedEvents(loc)).filter((e) => e.type !== "reading" && e.type !== "rules-set")).toEqual([]);
    await ingestOk([reading(loc, { deviceId: "d3", vote: 0.5 })]);

    const actions = (await storedEvents(loc)).filter((e) => e.type !== "reading" && e.type !== "rules-set");
    expect(actions).toEqual([expect.objectContaining({ type: "alert-raised", ruleId: "site-low", value: 0.125, samples: 4 })]);
    expect(actions[0]).not.toHaveProperty("deviceId");
    const { alerts } = await parsed(await api(locationPath(loc, "/alerts")), alertsResponse);
    expect(alerts).toEqual([expect.objectContaining({ id: actions[0]!.id, ruleId: "site-low", acknowledgement: null })]);
    expect(alerts[0]).not.toHaveProperty("deviceId");
    await parsed(await ack(loc, alerts[0]!.id, { comment: "checked" }), ackResponse);

    const stub = env.LOCATIONS.get(env.LOCATIONS.idFromName(loc));
    // The RPC stub's type of a Record return is opaque to TypeScript; the object answers Record<string, unknown[]>.
    const before = (await stub.projectionRows()) as Record<string, unknown[]>;
    expect(before.acknowledgements).toEqual([expect.objectContaining({ alert_id: alerts[0]!.id, comment: "checked" })]);
    await stub.rebuild();
    expect(await stub.projectionRows()).toEqual(before);
  });
});
