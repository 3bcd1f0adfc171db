import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { locationsResponse } from "../../protocol";
import { api, expectError, expectNothingStored, headOf, ingestOk, parsed, postIngest, storedEvents, storedReadings } from "./support/api";
import { MINUTE, freshId, isoFromNow, reading } from "./support/events";

describe("POST /api/v1/ingest: accepted batches", () => {
  it("stores a valid batch and answers accepted/duplicates/rejected", async () => {
    const location = "ingest-ok";
    const occurredAt = "2024-05-01T10:15:30.250Z";
    const events = [
      reading(location, { id: "ok-1", deviceId: "arduino1010", occurredAt, vote: 1, temperature: 25.75, humidity: 34.1 }),
      reading(location, { id: "ok-2", deviceId: "arduino1011", occurredAt: Date.parse(occurredAt) + 1000, vote: 0 }),
      reading(location, { id: "ok-3", deviceId: "arduino1010", occurredAt, vote: undefined, humidity: 0, properties: { temperatureAlert: "true" } }),
    ];
    expect(await ingestOk(events)).toEqual({ accepted: 3, duplicates: 0, rejected: [], conflicts: [] });

    const stored = await storedReadings(location);
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3]);
    const [first, second, third] = stored;
    expect(first).toMatchObject({ seq: 1, id: "ok-1", type: "reading", deviceId: "arduino1010", occurredAt, vote: 1, temperature: 25.75, humidity: 34.1 });
    // Epoch milliseconds come back as ISO 8601.
    expect(second).toMatchObject({ id: "ok-2", occurredAt: "2024-05-01T10:15:31.250Z", vote: 0 });
    expect(second).not.toHaveProperty("temperature");
    expect(third).toMatchObject({ id: "ok-3", humidity: 0, properties: { temperatureAlert: "true" } });
    expect(third).not.toHaveProperty("vote");
    // One batch, one commit: every event carries the same recordedAt.
    expect(new Set(stored.map((e) => e.recordedAt)).size).toBe(1);
  });

  it("accepts an ISO offset and normalises it to UTC", async () => {
    const location = "ingest-offset";
    await ingestOk([reading(location, { occurredAt: "2024-01-01T02:00:00+02:00" })]);
    expect((await storedReadings(location))[0]!.occurredAt).toBe("2024-01-01T00:00:00.000Z");
  });

  it("stores the valid events of a mixed batch and lists the invalid ones by index", async () => {
    const location = "ingest-mixed";
    const good1 = reading(location, { id: "mixed-good-1" });
    const good2 = reading(location, { id: "mixed-good-2", vote: 1 });
    const res = await ingestOk([
      good1,
      reading(location, { id: "mixed-bad-vote", vote: 0.7 }),
      "not an event",
      good2,
      reading(location, { id: "mixed-bad-future", occurredAt: isoFromNow(10 * MINUTE) }),
      { ...good1 },
    ]);
    expect(res.accepted).toBe(2);
    expect(res.duplicates).toBe(1);
    expect(res.rejected).toHaveLength(3);
    expect(res.rejected[0]).toEqual({ index: 1, id: "mixed-bad-vote", errors: ["vote: vote must be exactly 0, 0.5 or 1"] });
    expect(res.rejected[1]).toEqual({ index: 2, id: null, errors: ["Invalid input: expected object, received string"] });
    expect(res.rejected[2]!.index).toBe(4);
    expect(res.rejected[2]!.id).toBe("mixed-bad-future");
    expect(res.rejected[2]!.errors).toHaveLength(1);
    expect(res.rejected[2]!.errors[0]).toMatch(/^occurredAt: \d{4}-\d\d-\d\dT[\d:.]+Z is more than 5 minutes in the future$/);
    expect((await storedReadings(location)).map((e) => [e.seq, e.id])).toEqual([
      [1, "mixed-good-1"],
      [2, "mixed-good-2"],
    ]);
  });

  it("answers 200 with every event listed when none is valid, and stores nothing", async () => {
    const location = "ingest-all-bad";
    const res = await ingestOk([reading(location, { vote: 2 }), reading(location, { humidity: -1 })]);
    expect(res).toEqual({
      accepted: 0,
      duplicates: 0,
      rejected: [
        { index: 0, id: expect.any(String), errors: ["vote: vote must be exactly 0, 0.5 or 1"] },
        { index: 1, id: expect.any(String), errors: ["humidity: humidity must be at least 0 %"] },
      ],
      conflicts: [],
    });
    await expectNothingStored(location);
  });

  it("splits a batch across locations and stores each share in its own log", async () => {
    const [a, b] = ["ingest-split-a", "ingest-split-b"];
    const res = await ingestOk([reading(a), reading(b), reading(a), reading(b, { vote: 1 }), reading(a, { vote: 0, deviceId: "dev-2" })]);
    expect(res).toEqual({ accepted: 5, duplicates: 0, rejected: [], conflicts: [] });
    expect((await storedReadings(a)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await storedReadings(b)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("one batch spanning 60 locations: each gets its share, each is listed", async () => {
    const names = Array.from({ length: 60 }, (_, i) => `fanout-${String(i).padStart(3, "0")}`);
    const events = names.flatMap((location) => [reading(location), reading(location, { deviceId: "dev-2" })]);
    expect(await ingestOk(events)).toEqual({ accepted: 120, duplicates: 0, rejected: [], conflicts: [] });
    const listed = await parsed(await api("/api/v1/locations?limit=500"), locationsResponse);
    const fanout = listed.locations.filter((l) => l.location.startsWith("fanout-"));
    expect(fanout.map((l) => l.location)).toEqual(names);
    expect(fanout.every((l) => l.head === 2 && l.window.devices === 2)).toBe(true);
  });

  it("accepts an event dated 4 minutes ahead (allowed clock skew)", async () => {
    const location = "ingest-skew-ok";
    const occurredAt = isoFromNow(4 * MINUTE);
    expect(await ingestOk([reading(location, { occurredAt })])).toEqual({ accepted: 1, duplicates: 0, rejected: [], conflicts: [] });
    expect((await storedReadings(location))[0]!.occurredAt).toBe(occurredAt);
  });

  it("accepts exactly 1000 events in one batch", async () => {
    const location = "ingest-1000";
    const events = Array.from({ length: 1000 }, (_, i) => reading(location, { deviceId: `dev-${i % 7}` }));
    expect(await ingestOk(events)).toEqual({ accepted: 1000, duplicates: 0, rejected: [], conflicts: [] });
    expect(await headOf(location)).toBe(1000);
  });
});

describe("POST /api/v1/ingest: duplicates", () => {
  it("stores an id repeated within a batch once and reports the repeats (one with another reading as a conflict)", async () => {
    const location = "dup-within";
    const a = reading(location, { id: "within-a", vote: 1 });
    const b = reading(location, { id: "within-b" });
    const res = await ingestOk([a, a, b, { ...a, vote: 0 }, b]);
    expect(res).toEqual({ accepted: 2, duplicates: 3, rejected: [], conflicts: [{ index: 3, id: "within-a", deviceId: "dev-1" }] });
    const stored = await storedReadings(location);
    expect(stored.map((e) => [e.seq, e.id, e.vote])).toEqual([
      [1, "within-a", 1],
      [2, "within-b", 1],
    ]);
  });

  it("stores an id repeated across batches once; the first copy wins, another reading is a conflict, and seq has no gaps", async () => {
    const location = "dup-across";
    const [a, b, c, d] = ["across-a", "across-b", "across-c", "across-d"].map((id) => reading(location, { id }));
    expect(await ingestOk([a, b])).toEqual({ accepted: 2, duplicates: 0, rejected: [], conflicts: [] });
    expect(await ingestOk([{ ...b!, vote: 0 }, c, a])).toEqual({
      accepted: 1,
      duplicates: 2,
      rejected: [],
      conflicts: [{ index: 0, id: "across-b", deviceId: "dev-1" }],
    });
    expect(await ingestOk([a, b, c])).toEqual({ accepted: 0, duplicates: 3, rejected: [], conflicts: [] });
    expect(await ingestOk([d, d])).toEqual({ accepted: 1, duplicates: 1, rejected: [], conflicts: [] });
    const stored = await storedReadings(location);
    expect(stored.map((e) => [e.seq, e.id])).toEqual([
      [1, "across-a"],
      [2, "across-b"],
      [3, "across-c"],
      [4, "across-d"],
    ]);
    expect(stored[1]!.vote).toBe(1);
  });

  it("a retried request (the bridge's at-least-once delivery) changes nothing", async () => {
    const location = "dup-retry";
    const batch = Array.from({ length: 50 }, () => reading(location));
    await ingestOk(batch);
    const before = await storedReadings(location);
    expect(await ingestOk(batch)).toEqual({ accepted: 0, duplicates: 50, rejected: [], conflicts: [] });
    expect(await storedReadings(location)).toEqual(before);
  });

  it("dedupes by device: the same message id from two devices is two events", async () => {
    const location = "dup-by-device";
    const id = freshId("mid");
    const res = await ingestOk([reading(location, { id, deviceId: "door-1" }), reading(location, { id, deviceId: "door-2", vote: 0 })]);
    expect(res).toEqual({ accepted: 2, duplicates: 0, rejected: [], conflicts: [] });
    const stored = await storedReadings(location);
    expect(stored.map((e) => [e.seq, e.id, e.deviceId, e.vote])).toEqual([
      [1, id, "door-1", 1],
      [2, id, "door-2", 0],
    ]);
    // Each device's repeat is a duplicate of its own event; the pages by seq hold each once.
    expect(await ingestOk([reading(location, { id, deviceId: "door-2", vote: 0 })])).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await storedEvents(location)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("reports a conflict inside one batch with the index of the later copy, across locations too", async () => {
    const id = freshId("conflict");
    const res = await ingestOk([
      reading("conflict-a", { id, vote: 1 }),
      reading("conflict-b", { id: freshId() }),
      reading("conflict-a", { id, vote: 0 }),
      reading("conflict-a", { id, vote: 1 }),
    ]);
    expect(res).toEqual({ accepted: 2, duplicates: 2, rejected: [], conflicts: [{ index: 2, id, deviceId: "dev-1" }] });
    expect((await storedReadings("conflict-a")).map((e) => e.vote)).toEqual([1]);
  });

  it("dedupes per location: the same id in two locations is two events", async () => {
    const id = freshId("shared");
    expect(await ingestOk([reading("dup-loc-a", { id }), reading("dup-loc-b", { id })])).toEqual({ accepted: 2, duplicates: 0, rejected: [], conflicts: [] });
  });
});

describe("POST /api/v1/ingest: authentication", () => {
  const location = "auth-guarded";
  const body = { events: [reading(location)] };

  it("401 without an Authorization header", async () => {
    const res = await postIngest(body, { authorization: null });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="happy-hub"');
    await expectError(res, 401, "missing bearer token", ["send Authorization: Bearer <token>"]);
    await expectNothingStored(location);
  });

  it("401 with another scheme", async () => {
    await expectError(await postIngest(body, { authorization: `Basic ${btoa(`x:${env.INGEST_TOKEN}`)}` }), 401, "missing bearer token");
    await expectError(await postIngest(body, { authorization: "Bearer" }), 401, "missing bearer token");
    await expectNothingStored(location);
  });

  it("401 with a wrong token, a prefix of it, or the admin token", async () => {
    for (const token of ["wrong", env.INGEST_TOKEN!.slice(0, -1), `${env.INGEST_TOKEN}x`, env.ADMIN_TOKEN!]) {
      const res = await postIngest(body, { authorization: `Bearer ${token}` });
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="happy-hub", error="invalid_token"');
      await expectError(res, 401, "invalid bearer token", []);
    }
    await expectNothingStored(location);
  });

  it("checks the token before the body: a bad token with a malformed body is 401", async () => {
    await expectError(await postIngest("{nope", { authorization: "Bearer wrong" }), 401, "invalid bearer token");
  });

  it("accepts the scheme in any case", async () => {
    const res = await postIngest({ events: [reading("auth-scheme-case")] }, { authorization: `bearer ${env.INGEST_TOKEN}` });
    expect(res.status).toBe(200);
  });

  it("503 when INGEST_TOKEN is not configured (never open by default), even with a bearer token", async () => {
    const unconfigured = { ...env, INGEST_TOKEN: undefined } as Env;
    for (const authorization of [undefined, "Bearer ", `Bearer ${env.INGEST_TOKEN}`, "Bearer undefined"]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const res = await app.request("/api/v1/ingest", { method: "POST", headers, body: JSON.stringify(body) }, unconfigured);
      await expectError(res, 503, "INGEST_TOKEN is not configured", [
        "set it with `wrangler secret put INGEST_TOKEN` (or in .dev.vars for local development)",
      ]);
    }
    const empty = { ...env, INGEST_TOKEN: "" } as Env;
    await expectError(
      await app.request("/api/v1/ingest", { method: "POST", headers: { authorization: "Bearer " }, body: JSON.stringify(body) }, empty),
      503,
      "INGEST_TOKEN is not configured",
    );
    await expectNothingStored(location);
  });

  it("ingest is POST only", async () => {
    const res = await api("/api/v1/ingest", { headers: { authorization: `Bearer ${env.INGEST_TOKEN}` } });
    await expectError(res, 404, "no route for GET /api/v1/ingest");
  });
});
