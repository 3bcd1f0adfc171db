import { describe, expect, it } from "vitest";
import { fahrenheitToCelsius, normalize, type DeviceMessage, type NormalizeContext } from "../../../bridge/normalize";
import { toDeviceMessage } from "../../../bridge/mqtt/telemetry-source";
import { parseTelemetryTopic } from "../../../protocol";
import type { Route } from "../../../bridge/routes";

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const bytes = (s: string) => new TextEncoder().encode(s);
const ctx = (over: Partial<NormalizeContext> = {}): NormalizeContext => ({
  routes: [],
  defaultLocation: undefined,
  defaultTemperatureUnit: "C",
  maxMessageBytes: 65536,
  newId: () => "0190f7c4-0000-7000-8000-000000000001",
  now: NOW,
  ...over,
});
/** A message as the MQTT source builds it from a topic and a body. */
const fromTopic = (topic: string, body: string | Uint8Array): DeviceMessage => {
  const t = parseTelemetryTopic(topic);
  if (!t.ok) throw new Error(t.error);
  return toDeviceMessage(t.topic.deviceId, t.topic.bag, typeof body === "string" ? bytes(body) : body, NOW - 1000);
};

describe("normalize", () => {
  it("maps an Azure-style message: $.mid as id, bag location, ts as occurredAt, other properties kept", () => {
    const r = normalize(
      fromTopic(
        "devices/dev-1/messages/events/%24.mid=m-42&%24.ct=application%2Fjson%3Bcharset%3Dutf-8&%24.ce=utf-8&%24.cid=c-9&location=MTC&temperatureAlert=false",
        JSON.stringify({ vote: 1, temperature: 21.5, humidity: 40, ts: "2025-01-15T11:59:00Z" }),
      ),
      ctx(),
    );
    expect(r).toEqual({
      ok: true,
      event: {
        id: "m-42",
        deviceId: "dev-1",
        location: "MTC",
        occurredAt: Date.UTC(2025, 0, 15, 11, 59),
        vote: 1,
        temperature: 21.5,
        humidity: 40,
        properties: { temperatureAlert: "false", correlationId: "c-9" },
      },
    });
  });

  it("maps the original device's exact body: °F by route, no id (a fresh one), receipt time", () => {
    const routes: Route[] = [{ pattern: /^arduino.*$/, location: "Paoli", temperatureUnit: "F" }];
    const r = normalize(
      fromTopic("devices/arduino1010/messages/events/", '{"temperature":78.4,"humidity":34.1,"vote":0.5,"device":"arduino1010"}'),
      ctx({ routes }),
    );
    expect(r).toEqual({
      ok: true,
      event: {
        id: "0190f7c4-0000-7000-8000-000000000001",
        deviceId: "arduino1010",
        location: "Paoli",
        occurredAt: NOW - 1000,
        vote: 0.5,
        temperature: 25.778,
        humidity: 34.1,
      },
    });
  });

  it("resolves the location: property bag, then body, then route, then default", () => {
    const routes: Route[] = [{ pattern: /^d.*$/, location: "Route" }];
    const loc = (topic: string, body: object, c: Partial<NormalizeContext>) => {
      const r = normalize(fromTopic(topic, JSON.stringify({ vote: 1, ...body })), ctx(c));
      return r.ok ? r.event.location : r.errors;
    };
    expect(loc("devices/d1/messages/events/location=Bag", { location: "Body" }, { routes, defaultLocation: "Default" })).toBe("Bag");
    expect(loc("devices/d1/messages/events/", { location: "Body" }, { routes, defaultLocation: "Default" })).toBe("Body");
    expect(loc("devices/d1/messages/events/", {}, { routes, defaultLocation: "Default" })).toBe("Route");
    expect(loc("devices/x1/messages/events/", {}, { routes, defaultLocation: "Default" })).toBe("Default");
    expect(loc("devices/x1/messages/events/", {}, { routes })).toEqual([expect.stringContaining("no location")]);
  });

  it("converts °F with the default unit when no route sets one, and leaves °C alone", () => {
    const msg = () => fromTopic("devices/d/messages/events/location=MTC", '{"temperature":212}');
    const f = normalize(msg(), ctx({ defaultTemperatureUnit: "F" }));
    expect(f.ok && f.event.temperature).toBe(100);
    const c = normalize(msg(), ctx({ routes: [{ pattern: /^d$/, temperatureUnit: "C" }], defaultTemperatureUnit: "F" }));
    expect(c.ok).toBe(false); // 212 °C is over the contract's 200 °C
    expect(fahrenheitToCelsius(32)).toBe(0);
    expect(fahrenheitToCelsius(-40)).toBe(-40);
  });

  const poison: [string, string, string | Uint8Array, Partial<NormalizeContext>, string, string][] = [
    ["not JSON", "devices/d/messages/events/location=MTC", "{vote:1", {}, "json", "body is not JSON"],
    ["vote 2", "devices/d/messages/events/location=MTC", '{"vote":2}', {}, "body", "vote must be exactly 0, 0.5 or 1"],
    ["humidity wet", "devices/d/messages/events/location=MTC", '{"humidity":"wet"}', {}, "body", "humidity must be a finite number"],
    ["an empty body", "devices/d/messages/events/location=MTC", "", {}, "empty", "body is empty"],
    ["a 1 MB body", "devices/d/messages/events/location=MTC", new Uint8Array(1024 * 1024).fill(32), {}, "too-large", "limit is 65536"],
    ["no reading", "devices/d/messages/events/location=MTC", '{"device":"d"}', {}, "body", "at least one of vote, temperature, humidity"],
    ["a JSON array", "devices/d/messages/events/location=MTC", "[1]", {}, "body", "body must be a JSON object"],
    ["a bad $.mid", "devices/d/messages/events/%24.mid=a%20b&location=MTC", '{"vote":1}', {}, "message-id", "message id: id has a character outside"],
    ["an empty $.mid", "devices/d/messages/events/%24.mid=&location=MTC", '{"vote":1}', {}, "message-id", "id must not be empty"],
    ["a device id with a space", "devices/a b/messages/events/location=MTC", '{"vote":1}', {}, "device-id", "deviceId has a character outside"],
    ["a non-JSON content type", "devices/d/messages/events/%24.ct=text%2Fplain&location=MTC", '{"vote":1}', {}, "content-type", 'content type "text/plain" is not JSON'],
    ["an unknown encoding", "devices/d/messages/events/%24.ce=klingon&location=MTC", '{"vote":1}', {}, "encoding", "not supported"],
    ["bytes that are not UTF-8", "devices/d/messages/events/location=MTC", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), {}, "encoding", "not valid utf-8"],
    ["a bad location", "devices/d/messages/events/location=a%2Fb", '{"vote":1}', {}, "event", "location may hold only"],
    ["a temperature over 200 °C", "devices/d/messages/events/location=MTC", '{"temperature":250}', {}, "event", "temperature must be at most 200 °C"],
    ["a time 10 minutes ahead", "devices/d/messages/events/location=MTC", JSON.stringify({ vote: 1, ts: NOW + 600_000 }), {}, "event", "more than 5 minutes in the future"],
    ["a 33rd property", `devices/d/messages/events/location=MTC&${Array.from({ length: 33 }, (_, i) => `p${i}=v`).join("&")}`, '{"vote":1}', {}, "event", "at most 32 properties"],
  ];
  it.each(poison)("dead-letters %s with its reason", (_name, topic, body, c, reason, message) => {
    const r = normalize(fromTopic(topic, body), ctx(c));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe(reason);
    expect(r.errors.join("\n")).toContain(message);
  });

  it("decodes another declared encoding", () => {
    const utf16 = Buffer.from('{"vote":1}', "utf16le");
    const r = normalize(fromTopic("devices/d/messages/events/%24.ce=utf-16le&location=MTC", utf16), ctx());
    expect(r.ok && r.event.vote).toBe(1);
  });

  it("takes a body a source already decoded, and a source-derived fallback id", () => {
    const r = normalize(
      { deviceId: "d", properties: { location: "MTC" }, body: { json: { humidity: 50 } }, receivedAt: NOW, fallbackId: "hub:0:17" },
      ctx(),
    );
    expect(r.ok && r.event).toMatchObject({ id: "hub:0:17", humidity: 50 });
  });
});
