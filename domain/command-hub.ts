/**
 * The commands hub's hand-out policy, pure: which undelivered command goes to
 * which bridge. One bridge at a time holds the feed (the active one); a
 * command handed to a bridge stays with that bridge (its lease) while it may
 * still report it, so two bridges on one shared subscription never both
 * publish it. Only once the lease ran out, the bridge having gone, does the
 * command go to another bridge.
 */

/**
 * How long a command handed to a bridge stays with it after that bridge lost
 * its socket. Long enough for a restart or a reconnect to report what it
 * published; a bridge that stays away longer leaves its commands to the next.
 */
export const LEASE_MS = 30_000;

export interface QueuedCommand {
  /** The hub's seq. */
  seq: number;
  /** The bridge it was last handed to. */
  sentTo: string | null;
  /** When its lease started: when it was handed out, moved on when that bridge's socket closed. */
  sentAt: number | null;
}

export type HandOut = "send" | "held" | "skip";

/**
 * What to do with an undelivered command when `bridge` (resumed at `cursor`)
 * holds the feed at `now`:
 * - handed to another bridge whose lease still runs: `held` (wait for it);
 * - handed to this bridge at or before its cursor: `skip` (it recorded it and
 *   reports it; its cursor only passes commands it recorded);
 * - otherwise `send`: new ones, ones after the cursor, and ones whose lease
 *   ran out with another bridge.
 */
export function handOut(c: QueuedCommand, bridge: string, cursor: number, now: number): HandOut {
  if (c.sentTo !== null && c.sentTo !== bridge) return c.sentAt !== null && now - c.sentAt < LEASE_MS ? "held" : "send";
  if (c.sentTo === bridge && c.seq <= cursor) return "skip";
  return "send";
}

/** When the first held lease runs out (null: nothing held). */
export function leaseEnd(held: readonly QueuedCommand[]): number | null {
  let end: number | null = null;
  for (const c of held) if (c.sentAt !== null && (end === null || c.sentAt + LEASE_MS < end)) end = c.sentAt + LEASE_MS;
  return end;
}

/** Retry delay for forwarding deliveries to a location: doubles from 1 s to 5 min. */
export const forwardRetryMs = (attempt: number): number => Math.min(300_000, 1_000 * 2 ** Math.min(attempt, 20));
