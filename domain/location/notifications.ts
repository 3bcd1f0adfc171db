import type { NotificationEvent } from "../../protocol/notifications";
import type { AlertEntry, Draft } from "./entries";

/**
 * The notification part of the location's decider. Pure, like `decide`: the
 * object looks up what these need (channels, whether a notification is still
 * pending, whether an alert exists) and persists what they return.
 *
 * A notification's life in the log: `notification-queued` (one per alert
 * change and channel), then exactly one of `notification-sent` or
 * `notification-failed`. Pending = queued without an outcome, so after a
 * restart the object knows from its log what is left to send.
 */

/** What fan-out needs of a channel: its id and the events it takes (already filtered to this location). */
export interface ChannelRoute {
  id: string;
  events: readonly NotificationEvent[];
}

export type NotificationInput =
  /**
   * Alert changes not yet fanned out, and the channels in force now. `covers`: the
   * outbox seqs this fan-out empties (the object's bookkeeping; the decision ignores it).
   */
  | { type: "queue-notifications"; alerts: readonly AlertEntry[]; channels: readonly ChannelRoute[]; covers: readonly number[] }
  /** An attempt's final verdict; `pending` says whether the notification still awaits one (false: this is a repeat). */
  | {
      type: "record-notification";
      notificationId: string;
      channelId: string;
      pending: boolean;
      outcome: { ok: true; attempts: number; status: number } | { ok: false; attempts: number; status: number | null; error: string };
    }
  /** POST …/alerts/{id}/ack; `alert` is null when no alert has that id. */
  | { type: "acknowledge"; alertId: string; comment: string | null; alert: { acknowledged: boolean } | null };

/** `{alert id}.{channel id}`: one per alert change and channel, the same on every attempt. */
export const notificationId = (alertId: string, channelId: string): string => `${alertId}.${channelId}`;

export function decideNotifications(input: NotificationInput, now: number): Draft[] {
  switch (input.type) {
    case "queue-notifications": {
      const out: Draft[] = [];
      for (const alert of [...input.alerts].sort((a, b) => a.seq - b.seq)) {
        for (const channel of input.channels) {
          if (!channel.events.includes(alert.type)) continue;
          out.push({ type: "notification-queued", notificationId: notificationId(alert.id, channel.id), channelId: channel.id, alertId: alert.id, event: alert.type, occurredAt: now });
        }
      }
      return out;
    }
    case "record-notification": {
      if (!input.pending) return [];
      const { notificationId: id, channelId, outcome } = input;
      return outcome.ok
        ? [{ type: "notification-sent", notificationId: id, channelId, attempts: outcome.attempts, status: outcome.status, occurredAt: now }]
        : [{ type: "notification-failed", notificationId: id, channelId, attempts: outcome.attempts, status: outcome.status, error: outcome.error, occurredAt: now }];
    }
    case "acknowledge":
      if (input.alert === null || input.alert.acknowledged) return [];
      return [{ type: "alert-acknowledged", alertId: input.alertId, comment: input.comment, occurredAt: now }];
  }
}
