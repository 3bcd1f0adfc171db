import fc from "fast-check";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkIngestEvent, parseTelemetryTopic } from "../../../protocol";
import { createBridgeMetrics } from "../../../bridge/bridge-metrics";
import { DeadLetterFile } from "../../../bridge/dead-letters";
import { Intake } from "../../../bridge/intake";
import { createLogger } from "../../../bridge/log";
import { toDeviceMessage } from "../../../bridge/mqtt/telemetry-source";
import { DEAD_LETTER_REASONS } from "../../../bridge/normalize";
import { Outbox } from "../../../bridge/outbox";
import { openStateDb } from "../../../bridge/state-db";
import { createUuidV7 } from "../../../bridge/uuidv7";

/**
 * Fuzzes the bridge's intake as the MQTT source feeds it (topic parsed, property
 * bag split, then spooled or dead-lettered) with random topics, property bags
 * and payloads: binary, huge, deeply nested, odd encodings. Every message must
 * end spooled as a valid ingest event or dead-lettered with a known reason;
 * nothing throws, and memory stays bounded. Seeded (FUZZ_SEED to vary it),
 * bounded in runs and time (FUZZ_RUNS for more).
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3_000);
const MAX_MESSAGE_BYTES = 65_536;

const dir = mkdtempSync(join(tmpdir(), "intake-fuzz-"));
const outbox = new Outbox(openStateDb(dir, "normal"));
const deadLetters = new DeadLetterFile(join(dir, "dead-letters.jsonl"), { maxBytes: 4 * 1024 * 1024, keep: 1 });
const metrics = createBridgeMetrics({ outboxDepth: () => outbox.depth, sourceConnected: () => true });
const intake = new Intake(outbox, deadLetters, metrics, createLogger({ level: "error", write: () => {} }), {
  routes: [],
  defaultLocation: undefined,
  defaultTemperatureUnit: "C",
  maxMessageBytes: MAX_MESSAGE_BYTES,
  newId: createUuidV7(),
  outboxMaxEvents: 1_000_000_000,
});
afterAll(() => {
  outbox.close();
  deadLetters.close();
});

/** What the MQTT source does with one PUBLISH (bridge/mqtt/telemetry-source.ts, without the broker). */
function take(topic: string, payload: Uint8Array): "spooled" | "dead-lettered" | "full" {
  const parsed = parseTelemetryTopic(topic);
  if (!parsed.ok) {
    intake.poison("topic", [parsed.error], { topic }, payload);
    return "dead-lettered";
  }
  return intake.accept(toDeviceMessage(parsed.topic.deviceId, parsed.topic.bag, payload), { topic });
}

const text = fc.string({ unit: "grapheme", maxLength: 40 });
const anyText = fc.oneof(text, fc.string({ unit: "binary", maxLength: 40 }), fc.constantFrom("", "%", "%zz", "&", "=", "/", "+", "#", "\u0000", "%F0%9F%98%80"));
const deviceId = fc.oneof(fc.stringMatching(/^[A-Za-z0-9-]{1,24}$/), anyText, fc.constant("a".repeat(200)));
const bagEntry = fc.tuple(
  fc.oneof(fc.constantFrom("$.mid", "$.ct", "$.ce", "$.cid", "location", "n", "$.other"), anyText),
  fc.oneof(
    fc.constantFrom("application/json", "text/plain", "application/vnd.x+json; charset=utf-8", "utf-8", "utf-16le", "latin1", "bogus", "MTC", "", "a b"),
    fc.stringMatching(/^[A-Za-z0-9-]{1,16}$/),
    anyText,
  ),
);
/** Application properties near and past the contract's limits: how many (32), name (64) and value (256) lengths. */
const wideBag = fc
  .record({
    count: fc.integer({ min: 25, max: 40 }),
    nameLength: fc.integer({ min: 60, max: 70 }),
    valueLength: fc.integer({ min: 250, max: 262 }),
    location: fc.constantFrom("MTC", "Paoli"),
  })
  .map(({ count, nameLength, valueLength, location }) =>
    [`location=${location}`, ...Array.from({ length: count }, (_, i) => `${String(i).padStart(nameLength, "k")}=${"v".repeat(valueLength)}`)].join("&"),
  );
const bag = fc.oneof(
  fc.array(bagEntry, { maxLength: 6 }).map((entries) => entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")),
  wideBag,
  anyText, // not URL encoding at all
);
const goodBag = fc
  .record({ mid: fc.option(fc.stringMatching(/^[A-Za-z0-9-]{1,36}$/), { nil: undefined }), location: fc.constantFrom("MTC", "Paoli", "Malvern") })
  .map(({ mid, location }) => `${mid === undefined ? "" : `%24.mid=${mid}&`}location=${location}`);
const topic = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z0-9-]{1,24}$/), goodBag).map(([d, b]) => `devices/${d}/messages/events/${b}`) },
  { weight: 6, arbitrary: fc.tuple(deviceId, bag).map(([d, b]) => `devices/${d}/messages/events/${b}`) },
  { weight: 1, arbitrary: fc.tuple(deviceId, bag, anyText).map(([d, b, extra]) => `devices/${d}/messages/events/${b}/${extra}`) },
  { weight: 1, arbitrary: anyText },
);

const reading = fc.record(
  {
    vote: fc.oneof(fc.constantFrom(0, 0.5, 1), fc.double(), fc.string()),
    temperature: fc.oneof(fc.double({ min: -150, max: 250 }), fc.constant(Number.MAX_VALUE), fc.string()),
    humidity: fc.oneof(fc.double({ min: -10, max: 110 }), fc.boolean()),
    ts: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.integer(), text),
    location: fc.oneof(fc.constantFrom("MTC", "Paoli"), anyText),
  },
  { requiredKeys: [] },
);
const utf8 = (s: string) => new TextEncoder().encode(s);
const goodReading = fc.record(
  {
    vote: fc.constantFrom(0, 0.5, 1),
    temperature: fc.double({ min: -40, max: 60, noNaN: true }),
    humidity: fc.double({ min: 0, max: 100, noNaN: true }),
  },
  { requiredKeys: ["vote"] },
);
const payload = fc.oneof(
  { weight: 5, arbitrary: goodReading.map((r) => utf8(JSON.stringify(r))) },
  { weight: 5, arbitrary: reading.map((r) => utf8(JSON.stringify(r))) },
  { weight: 1, arbitrary: reading.map((r) => new Uint8Array(Buffer.from(JSON.stringify(r), "utf16le"))) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => utf8(JSON.stringify(v))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((depth) => utf8("[".repeat(depth) + "]".repeat(depth))) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((depth) => utf8('{"a":'.repeat(depth) + "1" + "}".repeat(depth))) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_MESSAGE_BYTES - 16, max: 400_000 }).map((n) => utf8(`{"vote":1,"pad":"${"x".repeat(n)}"}`)) },
  { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(0), utf8("null"), utf8('"x"'), utf8("{}"), new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), new Uint8Array([0xff, 0xfe, 0x7b, 0x00])) },
);

const deadLetterLines = (): { reason: string; errors: string[] }[] => {
  const raw = readFileSync(deadLetters.path, "utf8");
  return raw ? raw.trim().split("\n").map((l) => JSON.parse(l)) : [];
};

describe("bridge intake fuzzer", () => {
  it(`spools or dead-letters (with a reason) every random message, never throws, memory bounded (seed ${SEED}, ${RUNS} runs)`, () => {
    const started = Date.now();
    const heapBefore = process.memoryUsage().heapUsed;
    let cursor = 0;
    let spooled = 0;
    let dead = 0;
    fc.assert(
      fc.property(topic, payload, (t, p) => {
        const lettersBefore = metrics.deadLettered.value();
        const depthBefore = outbox.depth;
        const result = take(t, p);
        expect(result).not.toBe("full");
        if (result === "spooled") {
          spooled++;
          expect(outbox.depth).toBe(depthBefore + 1);
          const rows = outbox.readAfter(cursor, 10);
          expect(rows).toHaveLength(1);
          cursor = rows[0]!.seq;
          // What is spooled is what the worker will accept.
          const check = checkIngestEvent(JSON.parse(rows[0]!.event), Date.now());
          expect(check.ok, JSON.stringify(check)).toBe(true);
          outbox.remove(rows[0]!.seq, rows[0]!.seq);
        } else {
          dead++;
          expect(metrics.deadLettered.value()).toBe(lettersBefore + 1);
          expect(outbox.depth).toBe(depthBefore);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const letters = deadLetterLines();
    expect(letters.length).toBeGreaterThan(0);
    for (const l of letters) {
      expect(DEAD_LETTER_REASONS).toContain(l.reason);
      expect(l.errors.length).toBeGreaterThan(0);
    }
    expect(metrics.received.value()).toBe(RUNS);
    expect(spooled + dead).toBe(RUNS);
    // Both outcomes are exercised, not just one.
    expect(spooled).toBeGreaterThan(RUNS / 50);
    expect(dead).toBeGreaterThan(RUNS / 10);
    // Nothing of the messages is kept in memory: the heap grows by far less than what went through.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    console.log(`intake fuzzer: ${RUNS} messages, ${spooled} spooled, ${dead} dead-lettered, ${Date.now() - started} ms (seed ${SEED})`);
  }, Math.max(60_000, RUNS * 20)); // ~1.3 ms a case here; room for a loaded machine and `npm run fuzz`'s 100,000
});
