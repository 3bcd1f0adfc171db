import { z } from "zod";
import { logEvent } from "./events";
import { locationName } from "./ids";
import { scoreWindow } from "./read";

/** Newest events a snapshot carries. */
export const SNAPSHOT_RECENT = 50;
/** Events per frame when a client resumes from `since`. */
export const RESUME_PAGE = 500;
/** A resume further behind than this gets a `resync` frame instead of the backlog: work per connect stays bounded. */
export const RESYNC_AFTER = 1000;
/**
 * Every frame's JSON stays under this many UTF-16 code units: at most three
 * UTF-8 bytes each, so under 960 KiB on the wire, inside the platform's 1 MiB
 * WebSocket message limit whatever the script of names and properties.
 */
export const MAX_FRAME_CHARS = 320 * 1024;
/** Text a client may send to keep a socket alive; answered with PONG without waking the object. */
export const PING = "ping";
export const PONG = "pong";

/** First frame on every live socket. `recent` is oldest-first, at most 50. */
export const snapshotFrame = z.object({
  type: z.literal("snapshot"),
  location: locationName,
  head: z.number().int().nonnegative(),
  window: scoreWindow,
  recent: z.array(logEvent),
});
export type SnapshotFrame = z.infer<typeof snapshotFrame>;

/** A committed batch (or a page of the resume backlog); `events` in seq order. */
export const eventsFrame = z.object({
  type: z.literal("events"),
  location: locationName,
  head: z.number().int().nonnegative(),
  events: z.array(logEvent),
  window: scoreWindow,
});
export type EventsFrame = z.infer<typeof eventsFrame>;

/**
 * The window aged with no new event: sent at minute boundaries while the
 * window holds readings, so a dashboard never polls to age it.
 */
export const windowFrame = z.object({
  type: z.literal("window"),
  location: locationName,
  head: z.number().int().nonnegative(),
  window: scoreWindow,
});
export type WindowFrame = z.infer<typeof windowFrame>;

/**
 * Sent right after the snapshot instead of a resume backlog longer than
 * RESYNC_AFTER events, or when `since` is before the retained start
 * (RETENTION_DAYS dropped it): the client pages GET …/events from its `since`
 * (a 410 gives the first seq still held) or starts fresh from the snapshot.
 * Live frames follow as usual.
 */
export const resyncFrame = z.object({
  type: z.literal("resync"),
  location: locationName,
  head: z.number().int().nonnegative(),
});
export type ResyncFrame = z.infer<typeof resyncFrame>;

export const liveFrame = z.discriminatedUnion("type", [snapshotFrame, eventsFrame, windowFrame, resyncFrame]);
export type LiveFrame = z.infer<typeof liveFrame>;

/** Close codes the server uses. */
export const CLOSE = {
  normal: 1000,
  /** The client wrote something other than a ping: live sockets are read-only. */
  policy: 1008,
  /** The location has MAX_SOCKETS_PER_LOCATION sockets open: try again later. */
  tryAgainLater: 1013,
} as const;
