import { z } from "zod";
import { deviceId, eventId, locationName, wellFormed, wellFormedText } from "./ids";
import { NO_READING, hasReading, humidity, temperature, vote } from "./readings";
import { formatIssues } from "./issues";
import { MAX_FUTURE_SKEW_MS, instant, isoString } from "./time";

/** Limits of one ingest request (normative). */
export const INGEST_LIMITS = {
  minEvents: 1,
  maxEvents: 1000,
  maxBodyBytes: 1024 * 1024,
  maxProperties: 32,
} as const;

/** Application properties carried from the device's MQTT property bag. */
export const properties = z
  .record(
    z.string().min(1).max(64, "property names are at most 64 characters").refine(wellFormed, "property names must be valid Unicode (no lone surrogate)"),
    z.string().max(256, "property values are at most 256 characters").refine(wellFormed, "property values must be valid Unicode (no lone surrogate)"),
  )
  .refine((p) => Object.keys(p).length <= INGEST_LIMITS.maxProperties, {
    error: `at most ${INGEST_LIMITS.maxProperties} properties`,
  });

/**
 * One device event as the bridge posts it. Unknown fields are an error, so a
 * misspelt reading ("temprature") is reported rather than silently dropped.
 * Output: `occurredAt` in epoch milliseconds.
 */
export const ingestEvent = z
  .strictObject({
    id: eventId,
    deviceId,
    location: locationName,
    occurredAt: instant,
    vote: vote.optional(),
    temperature: temperature.optional(),
    humidity: humidity.optional(),
    properties: properties.optional(),
  })
  .refine(hasReading, { error: NO_READING });

/** What a sender writes (occurredAt as ISO string or epoch ms). */
export type IngestEventInput = z.input<typeof ingestEvent>;
/** What the worker hands to a location (occurredAt in epoch ms). */
export type IngestEvent = z.output<typeof ingestEvent>;

/**
 * The batch envelope. Events stay `unknown` here: each is validated on its own
 * so one bad event is listed in `rejected` instead of failing the batch.
 */
export const ingestEnvelope = z.object({
  events: z
    .array(z.unknown(), { error: "body must be an object with an `events` array" })
    .min(INGEST_LIMITS.minEvents, `events must hold at least ${INGEST_LIMITS.minEvents} event`)
    .max(INGEST_LIMITS.maxEvents, `events must hold at most ${INGEST_LIMITS.maxEvents} events`),
}, { error: "body must be an object with an `events` array" });

export const rejectedEvent = z.object({
  index: z.number().int().nonnegative(),
  id: z.string().nullable(),
  errors: z.array(z.string()),
});
export type RejectedEvent = z.infer<typeof rejectedEvent>;

/** An event whose device and id the log holds with other readings: the first stored wins; this one is not stored. */
export const conflictingEvent = z.object({
  index: z.number().int().nonnegative(),
  id: z.string(),
  deviceId: z.string(),
});
export type ConflictingEvent = z.infer<typeof conflictingEvent>;

/**
 * Every event of the batch is counted once: accepted + duplicates + rejected
 * = events. Events are unique by (deviceId, id): `duplicates` counts repeats,
 * conflicts included; `conflicts` lists the repeats whose readings differ.
 */
export const ingestResponse = z.object({
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  rejected: z.array(rejectedEvent),
  // Absent from workers older than deduplication by device: read as none.
  conflicts: z.array(conflictingEvent).default([]),
});
export type IngestResponse = z.infer<typeof ingestResponse>;

/** Every 4xx/5xx body the worker sends. */
export const errorBody = z.object({
  error: z.string(),
  issues: z.array(z.string()),
});
export type ErrorBody = z.infer<typeof errorBody>;

export type EventCheck = { ok: true; event: IngestEvent } | { ok: false; id: string | null; errors: string[] };

/**
 * Validates one event for ingest at `now`: the schema, then the clock (events
 * dated more than 5 minutes ahead are rejected). Shared by the worker and by
 * the bridge, which dead-letters what the worker would refuse.
 */
export function checkIngestEvent(raw: unknown, now: number): EventCheck {
  // Echoed in `rejected` so the sender can match it: as valid Unicode, whatever was sent.
  const id = typeof raw === "object" && raw !== null && typeof (raw as { id?: unknown }).id === "string" ? wellFormedText((raw as { id: string }).id) : null;
  const parsed = ingestEvent.safeParse(raw);
  if (!parsed.success) return { ok: false, id, errors: formatIssues(parsed.error) };
  if (parsed.data.occurredAt > now + MAX_FUTURE_SKEW_MS) {
    return {
      ok: false,
      id,
      errors: [`occurredAt: ${isoString(parsed.data.occurredAt)} is more than ${MAX_FUTURE_SKEW_MS / 60_000} minutes in the future`],
    };
  }
  return { ok: true, event: parsed.data };
}
