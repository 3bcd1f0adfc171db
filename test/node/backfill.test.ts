import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourlyResponse, locationResponse } from "../../protocol";
import { BackfillError, backfill, historyEvents, needsBackfill, parseBackfillOptions, type BackfillOptions } from "../../simulator/backfill";
import { deviceList } from "../../simulator/simulator";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";

const HOUR = 3_600_000;
let worker: LocalWorker;
let options: BackfillOptions;

beforeAll(async () => {
  worker = await startLocalWorker();
  options = parseBackfillOptions({ days: "2", apiUrl: worker.url, ingestToken: worker.ingestToken });
}, 90_000);
afterAll(() => worker?.dispose());

const get = async <T>(path: string, schema: { parse: (v: unknown) => T }): Promise<T> => {
  const res = await fetch(`${worker.url}${path}`);
  expect(res.status, path).toBe(200);
  return schema.parse(await res.json());
};

describe("npm run backfill against the worker under wrangler dev", () => {
  // Dated a little in the past, so a second run 10 minutes later is still not in the worker's future.
  const first = Date.now() - 20 * 60_000;
  const second = first + 10 * 60_000;

  it("is wanted on a new state, posts the history through ingest, and the worker's figures are exactly its events", async () => {
    expect(await needsBackfill(worker.url, options.locations, false)).toBe(true);
    expect(await needsBackfill(worker.url, options.locations, true), "a marker but an empty worker").toBe(true);

    const result = await backfill(options, first);
    const expected = historyEvents(deviceList(options.devicePrefix, options.locations, options.devices), first - 2 * 24 * HOUR, first);
    const total = [...expected.values()].reduce((n, events) => n + events.length, 0);
    expect(result).toMatchObject({ events: total, accepted: total, duplicates: 0 });
    console.log(`backfill of 2 days: ${result.events} events in ${result.requests} requests, ${result.ms} ms`);

    for (const [location, events] of expected) {
      const votes = events.filter((e) => e.vote !== undefined);
      const { hours } = await get(`/api/v1/locations/${location}/hourly?from=${first - 2 * 24 * HOUR}&to=${first}`, hourlyResponse);
      expect(hours.reduce((n, h) => n + h.votes, 0), location).toBe(votes.length);
      const voteSum = hours.reduce((s, h) => s + (h.score ?? 0) * h.votes, 0);
      expect(voteSum, location).toBeCloseTo(votes.reduce((s, e) => s + e.vote!, 0), 6);
      const { window } = await get(`/api/v1/locations/${location}`, locationResponse);
      expect(window.score, `${location} has a score at once`).not.toBeNull();
    }
    expect(await needsBackfill(worker.url, options.locations, true)).toBe(false);
  }, 120_000);

  it("run again later, stores only what is new: the rest come back as duplicates", async () => {
    const again = await backfill(options, second);
    const later = [...historyEvents(deviceList(options.devicePrefix, options.locations, options.devices), second - 2 * 24 * HOUR, second).values()].flat();
    const fresh = later.filter((e) => e.occurredAt > first).length;
    expect(fresh).toBeGreaterThan(0);
    expect(again).toMatchObject({ events: later.length, accepted: fresh, duplicates: later.length - fresh });
  }, 120_000);

  it("stops at once, naming the worker's answer, when the token is wrong", async () => {
    const wrong = { ...options, ingestToken: "not-the-token" };
    await expect(backfill(wrong, first)).rejects.toThrow(BackfillError);
    await expect(backfill(wrong, first)).rejects.toThrow(/answered 401/);
  });
});
