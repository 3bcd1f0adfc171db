import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { INGEST_LIMITS } from "../../protocol";
import { api, expectError, expectNothingStored, ingestOk, postIngest } from "./support/api";
import { MINUTE, isoFromNow, reading } from "./support/events";

/**
 * Bad input, case by case: the right status, a precise message, and nothing
 * stored (each case uses its own location, whose log must stay empty).
 */

const ENVELOPE_ISSUE = "events: body must be an object with an `events` array";

describe("malformed envelopes: 400/413 with {error, issues}, nothing stored", () => {
  const envelopeCases: { name: string; body: (location: string) => string; status: number; error: string; issues?: string[] }[] = [
    { name: "not JSON", body: (l) => `{"events":[${JSON.stringify(reading(l))}`, status: 400, error: "body is not valid JSON" },
    { name: "NaN (not JSON)", body: (l) => JSON.stringify({ events: [reading(l)] }).replace('"vote":1', '"temperature":NaN'), status: 400, error: "body is not valid JSON" },
    { name: "an empty body", body: () => "", status: 400, error: "body is empty", issues: ["send a JSON object with an `events` array"] },
    { name: "a whitespace body", body: () => " \n\t", status: 400, error: "body is empty", issues: ["send a JSON object with an `events` array"] },
    { name: "no `events`", body: (l) => JSON.stringify({ event: [reading(l)] }), status: 400, error: "invalid ingest body", issues: [ENVELOPE_ISSUE] },
    { name: "`events` an object", body: (l) => JSON.stringify({ events: { 0: reading(l) } }), status: 400, error: "invalid ingest body", issues: [ENVELOPE_ISSUE] },
    { name: "`events` a string", body: () => JSON.stringify({ events: "[]" }), status: 400, error: "invalid ingest body", issues: [ENVELOPE_ISSUE] },
    { name: "`events` null", body: () => JSON.stringify({ events: null }), status: 400, error: "invalid ingest body", issues: [ENVELOPE_ISSUE] },
    { name: "a bare array of events", body: (l) => JSON.stringify([reading(l)]), status: 400, error: "invalid ingest body", issues: ["body must be an object with an `events` array"] },
    { name: "JSON null", body: () => "null", status: 400, error: "invalid ingest body", issues: ["body must be an object with an `events` array"] },
    { name: "a JSON string", body: () => '"events"', status: 400, error: "invalid ingest body", issues: ["body must be an object with an `events` array"] },
    { name: "0 events", body: () => JSON.stringify({ events: [] }), status: 400, error: "invalid ingest body", issues: ["events: events must hold at least 1 event"] },
    {
      name: "1001 events",
      body: (l) => JSON.stringify({ events: Array.from({ length: 1001 }, () => reading(l)) }),
      status: 400,
      error: "invalid ingest body",
      issues: ["events: events must hold at most 1000 events"],
    },
    {
      name: "a 2 MiB body",
      body: (l) => JSON.stringify({ events: [reading(l)], padding: "x".repeat(2 * 1024 * 1024) }),
      status: 413,
      error: `body is larger than ${INGEST_LIMITS.maxBodyBytes} bytes`,
      issues: [`split the batch; the limit is ${INGEST_LIMITS.maxBodyBytes} bytes`],
    },
    {
      name: "1 MiB + 1 byte",
      body: (l) => {
        const head = JSON.stringify({ events: [reading(l)], padding: "" });
        return head.replace('"padding":""', `"padding":"${"x".repeat(INGEST_LIMITS.maxBodyBytes + 1 - head.length)}"`);
      },
      status: 413,
      error: `body is larger than ${INGEST_LIMITS.maxBodyBytes} bytes`,
    },
  ];

  envelopeCases.forEach(({ name, body, status, error, issues }, i) => {
    it(`${name} → ${status}`, async () => {
      const location = `bad-envelope-${i}`;
      await expectError(await postIngest(body(location)), status, error, issues);
      await expectNothingStored(location);
    });
  });

  it("an invalid UTF-8 body → 400", async () => {
    const location = "bad-utf8";
    const bytes = new TextEncoder().encode(JSON.stringify({ events: [reading(location)] }));
    const withBadByte = new Uint8Array([...bytes.slice(0, 20), 0xff, ...bytes.slice(20)]);
    const res = await api("/api/v1/ingest", { method: "POST", headers: { authorization: `Bearer ${env.INGEST_TOKEN}` }, body: withBadByte });
    await expectError(res, 400, "body is not valid UTF-8");
    await expectNothingStored(location);
  });

  it("a 2 MiB streamed body without Content-Length → 413 (counted while reading)", async () => {
    const location = "bad-streamed-size";
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const prefix = new TextEncoder().encode(`{"events":[${JSON.stringify(reading(location))}],"padding":"`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(prefix);
      },
      pull(controller) {
        if (sent >= 2 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const req = new Request("https://hub.test/api/v1/ingest", {
      method: "POST",
      headers: { authorization: `Bearer ${env.INGEST_TOKEN}` },
      body: stream,
    });
    expect(req.headers.get("content-length")).toBeNull();
    await expectError(await api("/api/v1/ingest", req), 413, `body is larger than ${INGEST_LIMITS.maxBodyBytes} bytes`);
    await expectNothingStored(location);
  });

  it("a body of exactly 1 MiB is accepted", async () => {
    const location = "ok-1mib";
    const head = JSON.stringify({ events: [reading(location, { properties: { pad: "" } })] });
    const padding = "x".repeat(INGEST_LIMITS.maxBodyBytes - head.length);
    // Too long for one property value, so pad with JSON whitespace instead (still valid JSON).
    const body = head.slice(0, -1) + " ".repeat(padding.length) + "}";
    expect(new TextEncoder().encode(body).byteLength).toBe(INGEST_LIMITS.maxBodyBytes);
    const res = await postIngest(body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [], conflicts: [] });
  });
});

describe("invalid events: 200, listed in `rejected` with a precise reason, nothing stored", () => {
  const long = (n: number, c = "x") => c.repeat(n);
  const eventCases: { name: string; event: (location: string) => unknown; errors: string[] }[] = [
    { name: "vote 0.7", event: (l) => reading(l, { vote: 0.7 }), errors: ["vote: vote must be exactly 0, 0.5 or 1"] },
    { name: "vote \"1\"", event: (l) => reading(l, { vote: "1" }), errors: ["vote: vote must be exactly 0, 0.5 or 1"] },
    { name: "vote true", event: (l) => reading(l, { vote: true }), errors: ["vote: vote must be exactly 0, 0.5 or 1"] },
    { name: "vote null", event: (l) => reading(l, { vote: null }), errors: ["vote: vote must be exactly 0, 0.5 or 1"] },
    { name: "humidity 140", event: (l) => reading(l, { humidity: 140 }), errors: ["humidity: humidity must be at most 100 %"] },
    { name: "humidity -0.1", event: (l) => reading(l, { humidity: -0.1 }), errors: ["humidity: humidity must be at least 0 %"] },
    { name: "temperature \"25\"", event: (l) => reading(l, { temperature: "25" }), errors: ["temperature: temperature must be a finite number (°C)"] },
    { name: "temperature null", event: (l) => reading(l, { temperature: null }), errors: ["temperature: temperature must be a finite number (°C)"] },
    { name: "temperature {}", event: (l) => reading(l, { temperature: {} }), errors: ["temperature: temperature must be a finite number (°C)"] },
    { name: "temperature 1e999 (Infinity after JSON.parse)", event: (l) => JSON.parse(JSON.stringify(reading(l, { temperature: 12345 })).replace("12345", "1e999")), errors: ["temperature: temperature must be a finite number (°C)"] },
    { name: "temperature 200.5", event: (l) => reading(l, { temperature: 200.5 }), errors: ["temperature: temperature must be at most 200 °C"] },
    { name: "temperature -101", event: (l) => reading(l, { temperature: -101 }), errors: ["temperature: temperature must be at least -100 °C"] },
    { name: "humidity \"50\"", event: (l) => reading(l, { humidity: "50" }), errors: ["humidity: humidity must be a finite number (%)"] },
    { name: "no reading at all", event: (l) => reading(l, { vote: undefined }), errors: ["an event must carry at least one of vote, temperature, humidity"] },
    { name: "an unknown field", event: (l) => reading(l, { temprature: 21 } as Record<string, unknown>), errors: ['Unrecognized key: "temprature"'] },
    { name: "a 129-character id", event: (l) => reading(l, { id: long(129) }), errors: ["id: id must be at most 128 characters"] },
    { name: "an empty id", event: (l) => reading(l, { id: "" }), errors: ["id: id must not be empty", "id: id has a character outside IoT Hub's message-id alphabet"] },
    ...[
      ["a space", "a b"],
      ["a slash", "a/b"],
      ["a backslash", "a\\b"],
      ["unicode", "näive"],
      ["an emoji", "id-😀"],
      ["a control character", "a\u0001b"],
      ["a newline", "a\nb"],
      ["a quote", 'a"b'],
    ].map(([what, id]) => ({
      name: `an id with ${what}`,
      event: (l: string) => reading(l, { id }),
      errors: ["id: id has a character outside IoT Hub's message-id alphabet"],
    })),
    { name: "a numeric id", event: (l) => reading(l, { id: 42 }), errors: ["id: id must be a string"] },
    ...[
      ["a slash", "MTC/2"],
      ["a leading slash", "/MTC"],
      ["a control character", "MTC\u0007"],
      ["a newline", "MTC\n"],
      ["a leading space", " MTC"],
      ["a trailing space", "MTC "],
      ["a '?'", "MTC?x=1"],
      ["'..'", ".."],
    ].map(([what, location]) => ({
      name: `a location with ${what}`,
      event: () => reading(location!),
      errors: ["location: location may hold only letters, digits, space, '_', '.', '-', must start with a letter or digit and must not end with a space"],
    })),
    { name: "a 65-character location", event: () => reading(long(65, "L")), errors: ["location: location must be at most 64 characters"] },
    { name: "an empty location", event: () => reading(""), errors: ["location: location must not be empty", "location: location may hold only letters, digits, space, '_', '.', '-', must start with a letter or digit and must not end with a space"] },
    ...["dev+1", "dev#1", "dev/1", "dev 1"].map((deviceId) => ({
      name: `deviceId ${JSON.stringify(deviceId)}`,
      event: (l: string) => reading(l, { deviceId }),
      errors: ["deviceId: deviceId has a character outside [A-Za-z0-9-.%_*?!(),:=@$']"],
    })),
    { name: "a 129-character deviceId", event: (l) => reading(l, { deviceId: long(129, "d") }), errors: ["deviceId: deviceId must be at most 128 characters"] },
    { name: "occurredAt without a zone", event: (l) => reading(l, { occurredAt: "2024-05-01T10:00:00" }), errors: ["occurredAt: must be an ISO 8601 date-time with a zone or epoch milliseconds"] },
    { name: "occurredAt as a date only", event: (l) => reading(l, { occurredAt: "2024-05-01" }), errors: ["occurredAt: must be an ISO 8601 date-time with a zone or epoch milliseconds"] },
    { name: "occurredAt garbage", event: (l) => reading(l, { occurredAt: "yesterday" }), errors: ["occurredAt: must be an ISO 8601 date-time with a zone or epoch milliseconds"] },
    { name: "occurredAt on 30 February", event: (l) => reading(l, { occurredAt: "2024-02-30T00:00:00Z" }), errors: ["occurredAt: must be an ISO 8601 date-time with a zone or epoch milliseconds"] },
    { name: "occurredAt epoch ms as a string", event: (l) => reading(l, { occurredAt: String(Date.now()) }), errors: ["occurredAt: must be an ISO 8601 date-time with a zone or epoch milliseconds"] },
    { name: "occurredAt before 2000 (ISO)", event: (l) => reading(l, { occurredAt: "1999-12-31T23:59:59.999Z" }), errors: ["occurredAt: must be a date on or after 2000-01-01"] },
    { name: "occurredAt before 2000 (epoch seconds by mistake)", event: (l) => reading(l, { occurredAt: Math.floor(Date.now() / 1000) }), errors: ["occurredAt: must be a date on or after 2000-01-01"] },
    { name: "a missing occurredAt", event: (l) => reading(l, { occurredAt: undefined }), errors: ["occurredAt: must be an ISO 8601 date-time with a zone or epoch milliseconds"] },
    { name: "a missing deviceId", event: (l) => reading(l, { deviceId: undefined }), errors: ["deviceId: deviceId is required"] },
    { name: "a property value of 257 characters", event: (l) => reading(l, { properties: { note: long(257) } }), errors: ["properties.note: property values are at most 256 characters"] },
    {
      name: "33 properties",
      event: (l) => reading(l, { properties: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) }),
      errors: ["properties: at most 32 properties"],
    },
    { name: "a non-string property value", event: (l) => reading(l, { properties: { n: 1 } }), errors: ["properties.n: Invalid input: expected string, received number"] },
  ];

  eventCases.forEach(({ name, event, errors }, i) => {
    it(`${name}`, async () => {
      const location = `bad-event-${i}`;
      const raw = event(location) as { id?: unknown };
      const res = await ingestOk([raw]);
      expect(res).toEqual({
        accepted: 0,
        duplicates: 0,
        rejected: [{ index: 0, id: typeof raw.id === "string" ? raw.id : null, errors }],
        conflicts: [],
      });
      await expectNothingStored(location);
    });
  });

  it("occurredAt 10 minutes in the future", async () => {
    const location = "bad-future";
    const occurredAt = isoFromNow(10 * MINUTE);
    const res = await ingestOk([reading(location, { id: "future-10", occurredAt })]);
    expect(res).toEqual({
      accepted: 0,
      duplicates: 0,
      rejected: [{ index: 0, id: "future-10", errors: [`occurredAt: ${occurredAt} is more than 5 minutes in the future`] }],
      conflicts: [],
    });
    await expectNothingStored(location);
  });

  it("occurredAt 10 minutes in the future as epoch ms", async () => {
    const location = "bad-future-epoch";
    const res = await ingestOk([reading(location, { occurredAt: Date.now() + 10 * MINUTE })]);
    expect(res.rejected[0]!.errors[0]).toMatch(/is more than 5 minutes in the future$/);
    await expectNothingStored(location);
  });

  it("reports every problem of one event", async () => {
    const location = "bad-many";
    const res = await ingestOk([reading(location, { id: "many", vote: 3, humidity: 101, deviceId: "a#" })]);
    expect(res.rejected).toEqual([
      {
        index: 0,
        id: "many",
        errors: [
          "deviceId: deviceId has a character outside [A-Za-z0-9-.%_*?!(),:=@$']",
          "vote: vote must be exactly 0, 0.5 or 1",
          "humidity: humidity must be at most 100 %",
        ],
      },
    ]);
    await expectNothingStored(location);
  });

  it("lists non-object events with id null", async () => {
    const location = "bad-non-objects";
    const res = await ingestOk([null, 7, [], true, reading(location)]);
    expect(res.accepted).toBe(1);
    expect(res.rejected).toEqual([
      { index: 0, id: null, errors: ["Invalid input: expected object, received null"] },
      { index: 1, id: null, errors: ["Invalid input: expected object, received number"] },
      { index: 2, id: null, errors: ["Invalid input: expected object, received array"] },
      { index: 3, id: null, errors: ["Invalid input: expected object, received boolean"] },
    ]);
  });
});
