import { z } from "zod";
import { systemEventId } from "./ids";

/**
 * What the alerts read route says of an alert's notifications and
 * acknowledgement. Apart from protocol/notifications.ts (the channels) so
 * that protocol/actions.ts, which the dashboard's first bundle reaches, does
 * not carry the channel schemas along.
 */

/** A notification of an alert as the alerts read route shows it. */
export const notificationState = z.object({
  /** `{alert id}.{channel id}` (`digest-{date}.{channel id}` for a digest); the `webhook-id` is the location name (URI-encoded), a dot, and this. */
  id: z.string(),
  /** The entry it tells of: an alert change, or a `digest-due`. */
  alertId: systemEventId,
  channelId: z.string(),
  event: z.enum(["alert-raised", "alert-cleared", "digest"]),
  status: z.enum(["pending", "sent", "failed"]),
  attempts: z.number().int().nonnegative(),
  /** HTTP status of the last attempt (null: none yet, or a network error). */
  lastStatus: z.number().int().nullable(),
  queuedAt: z.iso.datetime(),
  /** When it was sent or given up (null while pending). */
  doneAt: z.iso.datetime().nullable(),
});
export type NotificationState = z.infer<typeof notificationState>;

export const acknowledgement = z.object({
  /** seq of the `alert-acknowledged` entry. */
  seq: z.number().int().positive(),
  at: z.iso.datetime(),
  comment: z.string().nullable(),
});
export type Acknowledgement = z.infer<typeof acknowledgement>;
