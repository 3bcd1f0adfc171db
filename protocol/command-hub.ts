import { z } from "zod";
import { command } from "./actions";
import { locationName, systemEventId } from "./ids";

/**
 * The commands socket, `GET /api/v1/commands/live` (ingest token): one
 * long-lived hibernatable WebSocket between the bridge and the worker's
 * commands hub, the fleet-wide queue of undelivered commands.
 *
 *   hub → bridge   hello      (at once, with the hub's epoch)
 *   bridge → hub   resume     (who it is, and its saved epoch and cursor)
 *   hub → bridge   resumed    (its role: `active` holds the feed; `standby` waits while another bridge holds it)
 *   hub → bridge   commands   (active: every pending command after the cursor, then each new one as it is issued)
 *   bridge → hub   delivered  (after the broker's PUBACK and the bridge's local record)
 *   hub → bridge   recorded   (the hub stored those deliveries: the bridge may forget them)
 *   either way     "ping" → "pong" (answered by the runtime without waking the hub)
 *
 * Anything else from the bridge closes the socket with 1008 and the reason.
 */

/** Limits of the commands socket (normative). */
export const COMMAND_HUB_LIMITS = {
  /** Commands per `commands` frame. */
  framePage: 100,
  /** Deliveries per `delivered` frame. */
  maxDeliveries: 1000,
  /** Longest text frame the hub reads from a bridge, characters (1000 deliveries take about 100 000). */
  maxFrameChars: 256 * 1024,
} as const;

/**
 * The hub's epoch: random, created with its storage. A bridge that saved
 * another epoch knows the worker's state was wiped: the hub's seqs (and the
 * locations' command ids) start over, so it resumes from the start.
 */
export const hubEpoch = z.uuid({ error: "epoch must be a UUID the hub sent in hello" });

/** The hub's position: its seq of the last command the bridge handled (0: from the start of the epoch). */
export const hubCursor = z.number({ error: "cursor must be a number" }).int("cursor must be an integer").nonnegative("cursor must not be negative");

/** A command as the hub hands it out: the location's command, with its place in the hub's queue. */
export const hubCommand = command.extend({ cursor: hubCursor.positive() });
export type HubCommand = z.infer<typeof hubCommand>;

export const helloFrame = z.object({ type: z.literal("hello"), epoch: hubEpoch, head: hubCursor });
export const commandsFrame = z.object({ type: z.literal("commands"), epoch: hubEpoch, commands: z.array(hubCommand).min(1) });
/**
 * The answer to `resume`. `standby`: another bridge holds the feed; when that
 * one leaves, this socket gets `resumed` again with `active`, then commands.
 */
export const resumedFrame = z.object({ type: z.literal("resumed"), epoch: hubEpoch, role: z.enum(["active", "standby"]) });
const commandRef = z.object({ location: locationName, id: z.string() });
export const recordedFrame = z.object({
  type: z.literal("recorded"),
  /** Deliveries the hub stored (new or already known): the bridge may forget them. */
  recorded: z.array(commandRef),
  /** Commands the hub does not know in this epoch: they can never be recorded; the bridge forgets them too. */
  unknown: z.array(commandRef),
});
export const hubFrame = z.discriminatedUnion("type", [helloFrame, resumedFrame, commandsFrame, recordedFrame]);
export type HubFrame = z.infer<typeof hubFrame>;

/** Who is resuming: a stable name per bridge (the bridge uses its MQTT client id). */
export const bridgeName = z
  .string({ error: "bridge must be a string" })
  .min(1, "bridge must not be empty")
  .max(256, "bridge must be at most 256 characters");

export const resumeFrame = z.strictObject({ type: z.literal("resume"), bridge: bridgeName, epoch: hubEpoch, cursor: hubCursor });

/** One command the bridge published and recorded. */
export const commandDelivery = z.strictObject({
  location: locationName,
  id: systemEventId,
  deliveredAt: z.iso.datetime({ offset: true, error: "deliveredAt must be an ISO 8601 date-time" }),
});
export type CommandDelivery = z.infer<typeof commandDelivery>;

export const deliveredFrame = z.strictObject({
  type: z.literal("delivered"),
  deliveries: z
    .array(commandDelivery, { error: "deliveries must be an array" })
    .min(1, "deliveries must hold at least 1 entry")
    .max(COMMAND_HUB_LIMITS.maxDeliveries, `deliveries must hold at most ${COMMAND_HUB_LIMITS.maxDeliveries} entries`),
});

export const bridgeFrame = z.discriminatedUnion("type", [resumeFrame, deliveredFrame], {
  error: 'type must be "resume" or "delivered"',
});
export type BridgeFrame = z.infer<typeof bridgeFrame>;

/** Close codes of the commands socket. */
export const HUB_CLOSE = {
  /** The same bridge connected again: the older socket gives way. */
  replaced: 4000,
} as const;
