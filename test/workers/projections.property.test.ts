import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { IngestEvent, ReadingEvent } from "../../protocol";
import { HOUR, MINUTE } from "./support/events";
import { expectCloseAggregate, hourlyOf, windowOf, type OracleEvent } from "./support/oracle";

/**
 * Invariant 3: projections are a pure function of the log. Random histories —
 * duplicate ids (within and across batches, with different payloads), late
 * events hours back, any order, any batch split, several devices, any subset
 * of readings — appended batch by batch to a fresh location must leave the
 * same projection rows as a rebuild from its log (reading projections and,
 * since the default rule acts on low scores, alert and command projections
 * too), and the figures an independent oracle computes from the accepted
 * events.
 */

const stubFor = (location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));

interface Draft {
  /** Small range, so ids repeat. */
  idIndex: number;
  device: number;
  /** Offset from the run's `now`: up to 6 hours back, up to 4 minutes ahead (allowed skew). */
  offsetMs: number;
  vote?: 0 | 0.5 | 1;
  temperature?: number;
  humidity?: number;
}

/** JSON has no -0 (it travels as 0), so a reading never is -0. */
const noNegativeZero = (x: number) => (x === 0 ? 0 : x);
const temperature = fc.oneof(
  fc.integer({ min: -1000, max: 2000 }).map((t) => t / 10),
  fc.double({ min: -100, max: 200, noNaN: true, noDefaultInfinity: true }).map(noNegativeZero),
);
const humidity = fc.oneof(
  fc.integer({ min: 0, max: 1000 }).map((h) => h / 10),
  fc.double({ min: 0, max: 100, noNaN: true }).map(noNegativeZero),
);

const draft: fc.Arbitrary<Draft> = fc
  .record(
    {
      idIndex: fc.integer({ min: 0, max: 40 }),
      device: fc.integer({ min: 0, max: 4 }),
      offsetMs: fc.oneof(
        fc.integer({ min: -70 * MINUTE, max: 4 * MINUTE }), // around the live window
        fc.integer({ min: -6 * HOUR, max: 0 }), // late
        fc.integer({ min: -70, max: 4 }).map((m) => m * MINUTE), // equal instants: ties between readings
      ),
      // Weighted low, so the default rule (score < 0.7 over ≥ 3 votes) raises and clears alerts in many runs.
      vote: fc.constantFrom(0 as const, 0 as const, 0.5 as const, 1 as const),
      temperature,
      humidity,
    },
    { requiredKeys: ["idIndex", "device", "offsetMs"] },
  )
  .filter((d) => d.vote !== undefined || d.temperature !== undefined || d.humidity !== undefined);

const scenario = fc.record({
  drafts: fc.array(draft, { minLength: 1, maxLength: 60 }),
  /** Where to cut the sequence into batches (fractions, so any split is reachable). */
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
});

function splitAt<T>(items: T[], cuts: number[]): T[][] {
  const points = [...new Set(cuts.map((c) => Math.round(c * items.length)))].filter((p) => p > 0 && p < items.length).sort((a, b) => a - b);
  const batches: T[][] = [];
  let from = 0;
  for (const p of [...points, items.length]) {
    batches.push(items.slice(from, p));
    from = p;
  }
  return batches;
}

/** What a device's row must say: latest reading by occurredAt, ties to the later seq. */
function expectedDevices(accepted: readonly OracleEvent[]) {
  const byDevice = new Map<string, OracleEvent[]>();
  for (const e of accepted) byDevice.set(e.deviceId, [...(byDevice.get(e.deviceId) ?? []), e]);
  const latest = (events: OracleEvent[], key: "vote" | "temperature" | "humidity") => {
    let best: { value: number; at: number } | null = null;
    for (const e of events) {
      const value = e[key];
      if (value !== undefined && (best === null || e.occurredAt >= best.at)) best = { value, at: e.occurredAt };
    }
    return best;
  };
  return [...byDevice.keys()].sort().map((deviceId) => {
    const events = byDevice.get(deviceId)!;
    return {
      deviceId,
      lastSeenAt: Math.max(...events.map((e) => e.occurredAt)),
      vote: latest(events, "vote"),
      temperature: latest(events, "temperature"),
      humidity: latest(events, "humidity"),
    };
  });
}

let run = 0;

describe("projections: incremental = rebuild = oracle", () => {
  it("for random histories, batch splits, duplicates and late events", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ drafts, cuts }) => {
        run++;
        const location = `prop-${run}`;
        const stub = stubFor(location);
        const now = Date.now();
        const events: IngestEvent[] = drafts.map((d) => ({
          id: `r${run}-${d.idIndex}`,
          deviceId: `dev-${d.device}`,
          location,
          occurredAt: now + d.offsetMs,
          ...(d.vote !== undefined && { vote: d.vote }),
          ...(d.temperature !== undefined && { temperature: d.temperature }),
          ...(d.humidity !== undefined && { humidity: d.humidity }),
        }));

        // The first copy of each (device, id) is the one stored, in sequence order.
        const seen = new Set<string>();
        const accepted: IngestEvent[] = [];
        let head = 0;
        for (const batch of splitAt(events, cuts)) {
          const fresh = batch.filter((e) => !seen.has(`${e.deviceId}\u0000${e.id}`) && seen.add(`${e.deviceId}\u0000${e.id}`));
          accepted.push(...fresh);
          const result = await stub.append(location, batch);
          expect(result.accepted).toBe(fresh.length);
          expect(result.duplicates).toBe(batch.length - fresh.length);
          // The readings, plus any alert and command entries the rules decided.
          expect(result.head).toBeGreaterThanOrEqual(head + fresh.length);
          head = result.head;
        }

        // The log: seq 1..head without gaps; its readings are exactly the accepted events, in order, unchanged.
        const page = await stub.events(0, 1000);
        expect(page.next).toBeNull();
        expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
        const stored = page.events.filter((e): e is ReadingEvent => e.type === "reading");
        expect(stored.map((e) => ({ id: e.id, deviceId: e.deviceId, occurredAt: Date.parse(e.occurredAt), vote: e.vote, temperature: e.temperature, humidity: e.humidity }))).toEqual(
          accepted.map((e) => ({ id: e.id, deviceId: e.deviceId, occurredAt: e.occurredAt, vote: e.vote, temperature: e.temperature, humidity: e.humidity })),
        );

        // Incremental rows = rebuilt rows, exactly.
        const incremental = await stub.projectionRows();
        const rebuilt = await stub.rebuild();
        expect(rebuilt.events).toBe(head);
        expect(await stub.projectionRows()).toEqual(incremental);

        // Independent oracle: window, hourly history, devices.
        const summary = await stub.summary(location);
        expect(summary.head).toBe(head);
        const window = windowOf(accepted, Date.parse(summary.window.from));
        expect({ votes: summary.window.votes, score: summary.window.score, devices: summary.window.devices }).toEqual({
          votes: window.votes,
          score: window.score,
          devices: window.devices,
        });
        expectCloseAggregate(summary.window, window);

        const from = Math.floor((now - 7 * HOUR) / HOUR) * HOUR;
        const to = Math.floor(now / HOUR) * HOUR + HOUR;
        const { hours: hourly } = await stub.hourly(from, to, false);
        const expectedHours = hourlyOf(accepted, from, to);
        expect(hourly.map((h) => h.hour)).toEqual(expectedHours.map((h) => h.hour));
        hourly.forEach((h, i) => expectCloseAggregate(h, expectedHours[i]!));

        expect(await stub.devices()).toEqual(expectedDevices(accepted));
      }),
      { numRuns: 40 },
    );
  }, 60_000); // 40 histories of up to 60 events; a few seconds alone, more on a busy machine
});
