import { z } from "zod";
import { errorBody, ingestResponse, INGEST_LIMITS, locationResponse, WINDOW_MS, type IngestEventInput } from "../protocol";
import { backoffDelay, parseRetryAfter, sleep } from "../bridge/backoff";
import { OptionsError, helpText as renderHelp, int, parseOptions, text, url, type OptionSpec, type OptionsInput, type ParsedOptions } from "../bridge/options-table";
import { busyness, hashString, localTime, seededRandom, siteOf, World } from "./model";
import { SIMULATOR_OPTIONS } from "./options";
import { deviceList, slug, type SimulatedDevice } from "./simulator";

/**
 * History for the simulated devices: the last days as they would have been,
 * posted through the worker's normal ingest endpoint with past `occurredAt`s,
 * so a new installation has days, hours and rankings to show at once.
 *
 * Each location's hour is generated from a seed of its own (location and
 * hour), so the same hour always yields the same events with the same ids: a
 * second back-fill stores only what is new (the rest are duplicates, which
 * the worker drops by id).
 */

const HOUR_MS = 3_600_000;
/** Every device reports its climate this often, open or closed (a sensor does not keep opening hours). */
const CLIMATE_EVERY_MS = 15 * 60_000;
/** Events per request: half the ingest limit, well under its byte limit (an event here is about 150 bytes). */
export const BACKFILL_BATCH = INGEST_LIMITS.maxEvents / 2;

/** A generated event: dated in epoch milliseconds. */
export type HistoryEvent = IngestEventInput & { occurredAt: number };

/** `bf-{location}-{YYYYMMDDTHH}-{n}`: stable for the same location, UTC hour and position in the hour. */
const historyId = (location: string, hourStart: number, n: number) =>
  `bf-${slug(location)}-${new Date(hourStart).toISOString().slice(0, 13).replace(/-/g, "")}-${n}`;

/** A day's mood lies up to ±0.06 off the site's usual, the same for the same local date. */
const dayMood = (location: string, localDate: string) => (hashString(`${location}|${localDate}`) / 2 ** 32 - 0.5) * 0.12;

/**
 * The events of one location's devices in one UTC hour (`hourStart` on the
 * hour), oldest first: each device's climate every 15 minutes, and votes in
 * proportion to how busy the site is at its local time (a few when closed),
 * each vote with the device's climate as the live simulator sends them.
 */
export function hourOfHistory(location: string, devices: readonly SimulatedDevice[], hourStart: number): HistoryEvent[] {
  const random = seededRandom(hashString(`${location}|${hourStart}`));
  const world = new World(random, dayMood);
  const site = siteOf(location);
  const expected = site.peakVotesPerHour * busyness(site, localTime(site.timeZone, hourStart + HOUR_MS / 2));
  const votes = Math.round(expected * (0.8 + 0.4 * random()));
  const plan: { at: number; device: SimulatedDevice; vote: boolean }[] = [];
  devices.forEach((device, i) => {
    // Devices report a few seconds apart rather than all at once.
    for (let at = hourStart + i * 7_000; at < hourStart + HOUR_MS; at += CLIMATE_EVERY_MS) plan.push({ at, device, vote: false });
  });
  for (let v = 0; v < votes; v++) {
    plan.push({ at: hourStart + Math.floor(random() * HOUR_MS), device: devices[Math.floor(random() * devices.length)]!, vote: true });
  }
  plan.sort((a, b) => a.at - b.at);
  return plan.map(({ at, device, vote }, n) => ({
    id: historyId(location, hourStart, n),
    deviceId: device.id,
    location,
    occurredAt: at,
    ...world.reading(device.id, location, at, vote),
  }));
}

/** Every location's events with `from <= occurredAt <= to`, oldest first per location. */
export function historyEvents(devices: readonly SimulatedDevice[], from: number, to: number): Map<string, HistoryEvent[]> {
  const byLocation = new Map<string, SimulatedDevice[]>();
  for (const d of devices) byLocation.set(d.location, [...(byLocation.get(d.location) ?? []), d]);
  const history = new Map<string, HistoryEvent[]>();
  for (const [location, here] of byLocation) {
    const events: HistoryEvent[] = [];
    for (let hour = Math.floor(from / HOUR_MS) * HOUR_MS; hour <= to; hour += HOUR_MS) {
      for (const e of hourOfHistory(location, here, hour)) if (e.occurredAt >= from && e.occurredAt <= to) events.push(e);
    }
    history.set(location, events);
  }
  return history;
}

export const BACKFILL_OPTIONS = {
  days: { flag: "--days", group: "History", help: "How many days back from now.", default: "14", schema: int(1, 90) },
  apiUrl: { flag: "--api-url", group: "History", help: "The worker: events go to {api-url}/api/v1/ingest.", default: "http://127.0.0.1:8787", schema: url(["http:", "https:"]) },
  ingestToken: {
    env: "INGEST_TOKEN",
    group: "History",
    help: "Bearer token of the ingest endpoint. Default: INGEST_TOKEN from .dev.vars (npm start writes it).",
    schema: text,
    secret: true,
  },
  devices: SIMULATOR_OPTIONS.devices,
  locations: SIMULATOR_OPTIONS.locations,
  devicePrefix: SIMULATOR_OPTIONS.devicePrefix,
  concurrency: { flag: "--concurrency", group: "History", help: "Locations posted at the same time (each location's events go in order, one request at a time).", default: "3", schema: int(1, 16) },
} satisfies Record<string, OptionSpec>;

export type BackfillOptions = Omit<ParsedOptions<typeof BACKFILL_OPTIONS>, "ingestToken"> & { ingestToken: string };
export type BackfillOptionsInput = OptionsInput<typeof BACKFILL_OPTIONS>;

/** Validates (defaults filled in; the token from `fallbackToken` when not given). Throws OptionsError naming each bad option. */
export function parseBackfillOptions(input: BackfillOptionsInput, fallbackToken?: string): BackfillOptions {
  const { values, problems } = parseOptions(BACKFILL_OPTIONS, { ...input, ingestToken: input.ingestToken ?? fallbackToken });
  if (values.ingestToken === undefined && !problems.some((p) => p.startsWith("INGEST_TOKEN"))) {
    problems.push("INGEST_TOKEN (--ingest-token): is required (or run npm start once: it writes one to .dev.vars)");
  }
  if (problems.length) throw new OptionsError(problems);
  return { ...values, ingestToken: values.ingestToken! };
}

export const backfillHelp = (): string =>
  renderHelp(BACKFILL_OPTIONS, [
    "Usage: npm run backfill -- [--days 14] [--api-url http://127.0.0.1:8787] [options]",
    "",
    "Posts the simulated devices' last days to the worker's ingest endpoint, dated in the past: each",
    "device's climate every 15 minutes, votes shaped by each site's opening hours. Ids are stable, so a",
    "second run stores only what is new.",
  ]);

export interface BackfillResult {
  events: number;
  accepted: number;
  duplicates: number;
  requests: number;
  ms: number;
}

/** A worker answer that retrying cannot change. */
export class BackfillError extends Error {
  override name = "BackfillError";
}

const RETRY = { minMs: 250, maxMs: 5_000 };
/** A request that fails this many times in a row (network, 5xx, 429) ends the back-fill. */
const MAX_ATTEMPTS = 8;

/**
 * Posts the history of `options`'s devices over the `days` before `now` to the
 * worker, one request at a time per location, locations side by side. Each
 * location's last 60 minutes go first, so its live score is there after one
 * request; then the rest, oldest first.
 */
export async function backfill(options: BackfillOptions, now: number = Date.now()): Promise<BackfillResult> {
  const started = performance.now();
  const history = historyEvents(deviceList(options.devicePrefix, options.locations, options.devices), now - options.days * 24 * HOUR_MS, now);
  const result: BackfillResult = { events: 0, accepted: 0, duplicates: 0, requests: 0, ms: 0 };
  const queue = [...history];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [, located] = next;
      const windowFrom = now - WINDOW_MS;
      const events = [...located.filter((e) => e.occurredAt >= windowFrom), ...located.filter((e) => e.occurredAt < windowFrom)];
      result.events += events.length;
      for (let i = 0; i < events.length; i += BACKFILL_BATCH) {
        const answer = await postBatch(options, events.slice(i, i + BACKFILL_BATCH));
        result.requests++;
        result.accepted += answer.accepted;
        result.duplicates += answer.duplicates;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length) }, worker));
  result.ms = Math.round(performance.now() - started);
  return result;
}

/** One request, retried with backoff on network errors, 5xx and 429; any other answer but 200 is a BackfillError. */
async function postBatch(options: BackfillOptions, events: IngestEventInput[]): Promise<{ accepted: number; duplicates: number }> {
  const endpoint = new URL("/api/v1/ingest", options.apiUrl);
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    let retryAfter: number | undefined;
    try {
      res = await fetch(endpoint, {
        method: "POST",
        headers: { authorization: `Bearer ${options.ingestToken}`, "content-type": "application/json" },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 200) {
        const answer = ingestResponse.parse(await res.json());
        // Generated events are valid by construction: a rejection is a bug here or a contract change there.
        if (answer.rejected.length) throw new BackfillError(`the worker rejected ${answer.rejected.length} event(s): ${JSON.stringify(answer.rejected.slice(0, 3))}`);
        return answer;
      }
      const problem = await describeAnswer(res);
      if (res.status !== 429 && res.status < 500) throw new BackfillError(`${endpoint} answered ${problem}`);
      retryAfter = parseRetryAfter(res.headers.get("retry-after"));
      if (attempt + 1 >= MAX_ATTEMPTS) throw new BackfillError(`${endpoint} answered ${problem} ${MAX_ATTEMPTS} times`);
    } catch (e) {
      if (e instanceof BackfillError || e instanceof z.ZodError) throw e;
      if (attempt + 1 >= MAX_ATTEMPTS) throw new BackfillError(`${endpoint} unreachable after ${MAX_ATTEMPTS} attempts: ${(e as Error).message}`);
    }
    await sleep(retryAfter ?? backoffDelay(attempt, RETRY));
  }
}

/** `401 unauthorized (missing or wrong bearer token)` from the worker's error body, or the status alone. */
async function describeAnswer(res: Response): Promise<string> {
  const body = errorBody.safeParse(await res.json().catch(() => null));
  return body.success ? `${res.status} ${body.data.error}${body.data.issues.length ? ` (${body.data.issues.join("; ")})` : ""}` : `HTTP ${res.status}`;
}

/**
 * Whether `npm start` should back-fill: when no back-fill has completed
 * against this state (`marker` says so), or the worker holds no event for one
 * of the locations (its state was reset since). Either way a back-fill is
 * harmless: what is already stored comes back as duplicates.
 */
export async function needsBackfill(apiUrl: string, locations: readonly string[], markerExists: boolean): Promise<boolean> {
  if (!markerExists) return true;
  const heads = await Promise.all(
    locations.map(async (location) => {
      const res = await fetch(new URL(`/api/v1/locations/${encodeURIComponent(location)}`, apiUrl), { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new BackfillError(`GET /api/v1/locations/${location} answered ${await describeAnswer(res)}`);
      return locationResponse.parse(await res.json()).head;
    }),
  );
  return heads.some((head) => head === 0);
}
