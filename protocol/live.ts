import { z } from "zod";
import { logEvent } from "./events";
import { locationName } from "./ids";
import { scoreWindow } from "./read";

/** Newest events a snapshot carries. */
export const SNAPSHOT_RECENT = 50;
/** Events per frame when a client resumes from `since`. */
export const RESUME_PAGE = 500;
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

export const liveFrame = z.discriminatedUnion("type", [snapshotFrame, eventsFrame]);
export type LiveFrame = z.infer<typeof liveFrame>;

/** Close codes the server uses. */
export const CLOSE = {
  normal: 1000,
  /** The client wrote something other than a ping: live sockets are read-only. */
  policy: 1008,
} as const;
