import { z } from "zod";
import { deviceId, eventId } from "./ids";
import { properties } from "./ingest";
import { humidity, temperature, vote } from "./readings";

/** Fields every entry of a location's log has. */
const logEntry = {
  /** Per-location sequence number: 1, 2, 3… with no gaps. */
  seq: z.number().int().positive(),
  id: eventId,
  /** ISO 8601: when it happened (device clock for readings). */
  occurredAt: z.iso.datetime(),
  /** ISO 8601: when the location's object committed it. */
  recordedAt: z.iso.datetime(),
};

/** A device message: `type: "reading"`. */
export const readingEvent = z.object({
  ...logEntry,
  type: z.literal("reading"),
  deviceId,
  vote: vote.optional(),
  temperature: temperature.optional(),
  humidity: humidity.optional(),
  properties: properties.optional(),
});
export type ReadingEvent = z.infer<typeof readingEvent>;

/** Any entry of a location's log as the read API and live frames carry it. */
export const logEvent = z.discriminatedUnion("type", [readingEvent]);
export type LogEvent = z.infer<typeof logEvent>;

export const eventsPage = z.object({
  events: z.array(logEvent),
  /** The `after` to ask for the next page, or null when this page reached the head. */
  next: z.number().int().nonnegative().nullable(),
});
export type EventsPage = z.infer<typeof eventsPage>;

export const EVENTS_PAGE = { defaultLimit: 100, maxLimit: 1000 } as const;
