import { z } from "zod";
import { deviceId, locationName } from "./ids";
import { vote } from "./readings";
import { deviceHealth, deviceRegistration } from "./device-health";

/** Length of the sliding window behind the hourly score. */
export const WINDOW_MS = 60 * 60_000;

const aggregate = {
  votes: z.number().int().nonnegative(),
  /** sum(vote) / count(votes), unrounded; null with no votes. */
  score: z.number().min(0).max(1).nullable(),
  /** Distinct devices with any event in the span. */
  devices: z.number().int().nonnegative(),
  /** Mean of the readings in the span; null with none. */
  temperature: z.number().nullable(),
  humidity: z.number().nullable(),
};

/** The live hourly score: events whose occurredAt is at or after `from`. */
export const scoreWindow = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  ...aggregate,
});
export type ScoreWindow = z.infer<typeof scoreWindow>;

/** One calendar hour (UTC) of history. */
export const hourSummary = z.object({ hour: z.iso.datetime(), ...aggregate });
export type HourSummary = z.infer<typeof hourSummary>;

export const hourlyResponse = z.object({ hours: z.array(hourSummary) });
export type HourlyResponse = z.infer<typeof hourlyResponse>;

export const HOURLY_LIMITS = { defaultHours: 24, maxHours: 31 * 24 } as const;

export const locationSummary = z.object({
  location: locationName,
  /** Newest seq of the location's log; 0 when empty. */
  head: z.number().int().nonnegative(),
  /** recordedAt of the newest event; null when empty. */
  lastEventAt: z.iso.datetime().nullable(),
  window: scoreWindow,
});
export type LocationSummary = z.infer<typeof locationSummary>;

export const locationResponse = z.object({
  location: locationName,
  head: z.number().int().nonnegative(),
  window: scoreWindow,
});
export type LocationResponse = z.infer<typeof locationResponse>;

/**
 * What a location knows of one device: when it was last heard and its latest
 * readings (by occurredAt); with the registry's word on it (`registration`,
 * null for a device the registry does not hold) and its `health` (null
 * without an expected interval). A registered device never heard here is
 * listed with `lastSeenAt` null.
 */
export const deviceSummary = z.object({
  deviceId,
  lastSeenAt: z.iso.datetime().nullable(),
  health: deviceHealth.nullable(),
  registration: deviceRegistration.nullable(),
  vote: vote.nullable(),
  temperature: z.number().nullable(),
  humidity: z.number().nullable(),
});
export type DeviceSummary = z.infer<typeof deviceSummary>;

/** GET /api/v1/locations/{location}/devices */
export const devicesResponse = z.object({ devices: z.array(deviceSummary) });
export type DevicesResponse = z.infer<typeof devicesResponse>;

/**
 * GET …/events?after= before the retained start (RETENTION_DAYS dropped those
 * readings): 410 with the contract's error body and the first seq still held.
 * Start again from `firstSeq - 1` (or from a fresh snapshot).
 */
export const eventsGone = z.object({
  error: z.string(),
  issues: z.array(z.string()),
  firstSeq: z.number().int().positive(),
});
export type EventsGone = z.infer<typeof eventsGone>;
