import { describe, expect, it } from "vitest";
import { deviceMessageBody, parsePropertyBag, parseTelemetryTopic } from "../../../protocol";

describe("parseTelemetryTopic", () => {
  it("reads the device id and the decoded property bag", () => {
    const r = parseTelemetryTopic("devices/arduino1010/messages/events/%24.mid=abc-1&%24.ct=application%2Fjson&location=Malvern%20East");
    expect(r).toEqual({
      ok: true,
      topic: { deviceId: "arduino1010", bag: { "$.mid": "abc-1", "$.ct": "application/json", location: "Malvern East" } },
    });
  });

  it.each([
    ["devices/arduino1010/messages/events/", {}],
    ["devices/arduino1010/messages/events", {}],
    ["devices/d/messages/events/a=1&&b=", { a: "1", b: "" }],
    ["devices/d/messages/events/flag", { flag: "" }],
    ["devices/d/messages/events/a=1&a=2", { a: "2" }],
  ])("accepts %s", (topic, bag) => {
    const r = parseTelemetryTopic(topic);
    expect(r.ok && r.topic.bag).toEqual(bag);
  });

  it.each([
    "devices/d/messages/devicebound/",
    "devices/d/messages/events/a=1/extra",
    "devices//messages/events/",
    "device/d/messages/events/",
    "devices/d/messages",
    "telemetry/d",
    "",
  ])("refuses the topic %j with the expected shape in the error", (topic) => {
    const r = parseTelemetryTopic(topic);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/devices\/\{deviceId\}\/messages\/events\/\{propertyBag\}/);
  });

  it("refuses a property bag that is not URL encoding", () => {
    const r = parseTelemetryTopic("devices/d/messages/events/a=%E0%A4%A");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain("not valid URL encoding");
  });

  it("refuses a bag entry without a name", () => {
    expect(parsePropertyBag("=x")).toEqual({ ok: false, error: expect.stringContaining("without a name") });
  });
});

describe("deviceMessageBody", () => {
  it("accepts the original device's body and the Azure quickstart's", () => {
    expect(deviceMessageBody.parse({ temperature: 78.4, humidity: 34.1, vote: 0.5, device: "arduino1010" })).toMatchObject({ vote: 0.5 });
    expect(deviceMessageBody.parse({ temperature: 28.1, humidity: 61.3 })).toEqual({ temperature: 28.1, humidity: 61.3 });
  });

  it("parses ts as ISO 8601 or epoch ms and ignores unknown fields", () => {
    expect(deviceMessageBody.parse({ vote: 1, ts: "2024-05-01T10:00:00+02:00", messageId: 7 })).toEqual({ vote: 1, ts: Date.UTC(2024, 4, 1, 8) });
    expect(deviceMessageBody.parse({ vote: 1, ts: 1714557600000 })).toEqual({ vote: 1, ts: 1714557600000 });
  });

  it.each([
    [{ vote: 2 }, "vote must be exactly 0, 0.5 or 1"],
    [{ humidity: "wet" }, "humidity must be a finite number"],
    [{ humidity: 101 }, "humidity must be at most 100"],
    [{ temperature: "hot" }, "temperature must be a finite number"],
    [{ device: "x" }, "at least one of vote, temperature, humidity"],
    [{ vote: 1, ts: 1714557600 }, "on or after 2000-01-01"],
    [{ vote: 1, ts: "yesterday" }, "ISO 8601"],
    [{ vote: 1, location: "../etc" }, "location may hold only"],
    [[1, 2], "body must be a JSON object"],
    ["hello", "body must be a JSON object"],
    [null, "body must be a JSON object"],
  ])("refuses %j", (body, message) => {
    const r = deviceMessageBody.safeParse(body);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(message);
  });
});
