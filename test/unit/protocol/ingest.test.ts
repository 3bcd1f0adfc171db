import { describe, expect, it } from "vitest";
import { INGEST_LIMITS, checkIngestEvent, ingestEnvelope, ingestEvent } from "../../../protocol/ingest";
import { formatIssues } from "../../../protocol/issues";

const now = Date.UTC(2024, 2, 10, 12, 0, 0);
const event = (overrides: Record<string, unknown> = {}) => ({
  id: "evt-1",
  deviceId: "arduino1010",
  location: "MTC",
  occurredAt: "2024-03-10T11:59:00Z",
  vote: 0.5,
  ...overrides,
});

describe("checkIngestEvent", () => {
  it("accepts a valid event and returns occurredAt in epoch ms", () => {
    expect(checkIngestEvent(event({ temperature: 25.9, humidity: 34.1, properties: { k: "v" } }), now)).toEqual({
      ok: true,
      event: { id: "evt-1", deviceId: "arduino1010", location: "MTC", occurredAt: now - 60_000, vote: 0.5, temperature: 25.9, humidity: 34.1, properties: { k: "v" } },
    });
  });

  it("accepts exactly 5 minutes ahead and rejects 1 ms more, with the instant in the message", () => {
    expect(checkIngestEvent(event({ occurredAt: now + 5 * 60_000 }), now).ok).toBe(true);
    expect(checkIngestEvent(event({ occurredAt: now + 5 * 60_000 + 1 }), now)).toEqual({
      ok: false,
      id: "evt-1",
      errors: ["occurredAt: 2024-03-10T12:05:00.001Z is more than 5 minutes in the future"],
    });
    expect(checkIngestEvent(event({ occurredAt: "2024-03-10T12:10:00Z" }), now)).toMatchObject({ ok: false });
  });

  it("accepts any past date from 2000 on (late events are normal)", () => {
    expect(checkIngestEvent(event({ occurredAt: "2000-01-01T00:00:00Z" }), now).ok).toBe(true);
  });

  it("echoes the id when it is a string, else null", () => {
    expect(checkIngestEvent(event({ vote: 7 }), now)).toMatchObject({ ok: false, id: "evt-1" });
    expect(checkIngestEvent(event({ id: 5 }), now)).toMatchObject({ ok: false, id: null });
    expect(checkIngestEvent("x", now)).toEqual({ ok: false, id: null, errors: ["Invalid input: expected object, received string"] });
    expect(checkIngestEvent(null, now)).toMatchObject({ ok: false, id: null });
  });

  it("requires at least one reading and only known fields", () => {
    expect(checkIngestEvent(event({ vote: undefined }), now)).toMatchObject({
      ok: false,
      errors: ["an event must carry at least one of vote, temperature, humidity"],
    });
    expect(checkIngestEvent(event({ device: "arduino1010" }), now)).toMatchObject({ ok: false, errors: ['Unrecognized key: "device"'] });
  });

  it("accepts the boundary readings and rejects just outside them", () => {
    for (const ok of [{ vote: 0 }, { vote: 1 }, { temperature: -100 }, { temperature: 200 }, { humidity: 0 }, { humidity: 100 }]) {
      expect(checkIngestEvent(event({ vote: undefined, ...ok }), now).ok, JSON.stringify(ok)).toBe(true);
    }
    for (const bad of [{ vote: 0.25 }, { vote: -0.5 }, { temperature: -100.01 }, { temperature: 200.01 }, { humidity: -0.01 }, { humidity: 100.01 }, { temperature: Number.NaN }]) {
      expect(checkIngestEvent(event({ vote: undefined, ...bad }), now).ok, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("ingestEvent", () => {
  it("properties: at most 32, names 1–64, values ≤ 256 characters", () => {
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
    expect(ingestEvent.safeParse(event({ properties: props(32) })).success).toBe(true);
    expect(ingestEvent.safeParse(event({ properties: props(33) })).success).toBe(false);
    expect(ingestEvent.safeParse(event({ properties: { ["k".repeat(65)]: "v" } })).success).toBe(false);
    expect(ingestEvent.safeParse(event({ properties: { "": "v" } })).success).toBe(false);
    expect(ingestEvent.safeParse(event({ properties: { k: "v".repeat(256) } })).success).toBe(true);
    expect(ingestEvent.safeParse(event({ properties: { k: "v".repeat(257) } })).success).toBe(false);
  });
});

describe("ingestEnvelope", () => {
  const issues = (body: unknown) => {
    const r = ingestEnvelope.safeParse(body);
    return r.success ? [] : formatIssues(r.error);
  };

  it("takes 1 to 1000 events of any shape (each is checked on its own)", () => {
    expect(issues({ events: [1] })).toEqual([]);
    expect(issues({ events: Array(INGEST_LIMITS.maxEvents).fill({}) })).toEqual([]);
    expect(issues({ events: [] })).toEqual(["events: events must hold at least 1 event"]);
    expect(issues({ events: Array(INGEST_LIMITS.maxEvents + 1).fill({}) })).toEqual(["events: events must hold at most 1000 events"]);
  });

  it("rejects a body that is not an object with an events array", () => {
    expect(issues({})).toEqual(["events: body must be an object with an `events` array"]);
    expect(issues({ events: {} })).toEqual(["events: body must be an object with an `events` array"]);
    expect(issues([])).toEqual(["body must be an object with an `events` array"]);
    expect(issues(null)).toEqual(["body must be an object with an `events` array"]);
  });

  it("limits: 1 MiB bodies", () => {
    expect(INGEST_LIMITS.maxBodyBytes).toBe(1024 * 1024);
  });
});
