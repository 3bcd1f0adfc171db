import { z } from "zod";
import { locationSummary } from "./read";
import { calendarDays } from "./calendar-days";

/**
 * The fleet view: one summary per location, pushed by the location to the
 * fleet object, listed by `GET /api/v1/locations` and streamed by
 * `GET /api/v1/fleet/live`.
 */
export const fleetSummary = locationSummary.extend({
  /** Alerts raised at the location right now. */
  alerts: z.number().int().nonnegative(),
  /** The location's display name from its settings, if any. */
  displayName: z.string().optional(),
});
export type FleetSummary = z.infer<typeof fleetSummary>;

/**
 * What a location publishes: its summary and, for the ranking, its votes per
 * local day. The fleet keeps the days apart from the summary it lists and
 * streams, so the fleet view's frames stay small.
 */
export const fleetPublication = fleetSummary.extend({ calendar: calendarDays.optional() });
export type FleetPublication = z.infer<typeof fleetPublication>;

/**
 * True when `candidate` is newer than `held`: a later head, or the same head
 * with a later window (a window aged at a minute boundary). Equal or older
 * summaries change nothing, so a repeated or late publish is harmless.
 */
export function supersedes(held: FleetSummary | null | undefined, candidate: FleetSummary): boolean {
  if (!held) return true;
  if (candidate.head !== held.head) return candidate.head > held.head;
  return Date.parse(candidate.window.to) > Date.parse(held.window.to);
}

/** `GET /api/v1/locations?limit=&cursor=`: `limit` 1–500. */
export const LOCATIONS_PAGE = { defaultLimit: 100, maxLimit: 500 } as const;

/** A page of the fleet, ordered by name (Unicode code point order); `next` is the opaque cursor of the following page. */
export const locationsResponse = z.object({
  locations: z.array(fleetSummary),
  next: z.string().min(1).nullable(),
});
export type LocationsResponse = z.infer<typeof locationsResponse>;

/** Every fleet frame stays under this many bytes of UTF-8 (the platform caps a WebSocket message at 1 MiB). */
export const MAX_FLEET_FRAME_BYTES = 1_000_000;

/**
 * First frames on a fleet socket: every location's summary, ordered by name,
 * split into `parts` frames when one would pass MAX_FLEET_FRAME_BYTES. The
 * view is complete once part `parts` has arrived.
 */
export const fleetSnapshotFrame = z.object({
  type: z.literal("snapshot"),
  part: z.number().int().min(1),
  parts: z.number().int().min(1),
  locations: z.array(fleetSummary),
});
export type FleetSnapshotFrame = z.infer<typeof fleetSnapshotFrame>;

/** Summaries that changed since the previous frame (publishes within ~250 ms coalesced into one frame). */
export const fleetChangesFrame = z.object({
  type: z.literal("changes"),
  locations: z.array(fleetSummary),
});
export type FleetChangesFrame = z.infer<typeof fleetChangesFrame>;

export const fleetFrame = z.discriminatedUnion("type", [fleetSnapshotFrame, fleetChangesFrame]);
export type FleetFrame = z.infer<typeof fleetFrame>;

/** Room kept in each frame for its envelope (`{"type":…,"part":…,"parts":…,"locations":[` and `]}`). */
const ENVELOPE_BYTES = 128;
const utf8 = new TextEncoder();

/**
 * The frames (as sent, JSON text) carrying `summaries` in order, each at most
 * `maxBytes` of UTF-8. A snapshot is at least one frame (an empty fleet is
 * `[]`); changes with nothing changed are no frame at all.
 */
export function fleetFrameTexts(type: "snapshot" | "changes", summaries: readonly FleetSummary[], maxBytes = MAX_FLEET_FRAME_BYTES): string[] {
  const groups: string[][] = [];
  let group: string[] = [];
  let size = ENVELOPE_BYTES;
  for (const summary of summaries) {
    const json = JSON.stringify(summary);
    const bytes = utf8.encode(json).byteLength + 1;
    if (group.length > 0 && size + bytes > maxBytes) {
      groups.push(group);
      group = [];
      size = ENVELOPE_BYTES;
    }
    group.push(json);
    size += bytes;
  }
  if (group.length > 0 || (type === "snapshot" && groups.length === 0)) groups.push(group);
  return groups.map((g, i) =>
    type === "snapshot"
      ? `{"type":"snapshot","part":${i + 1},"parts":${groups.length},"locations":[${g.join(",")}]}`
      : `{"type":"changes","locations":[${g.join(",")}]}`,
  );
}
