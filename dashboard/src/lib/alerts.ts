import { alertsResponse, type AlertState } from "../../../protocol/actions";
import type { NotificationState } from "../../../protocol/notification-state";
import { getJson, locationPath } from "./api";

/** The alerts raised at a location now, each with its notifications and acknowledgement (lazy: the location page's chunk). */
export async function fetchAlertStates(location: string, signal?: AbortSignal): Promise<AlertState[]> {
  return (await getJson(`${locationPath(location)}/alerts`, alertsResponse, signal)).alerts;
}

const attempts = (n: number): string => `${n} attempt${n === 1 ? "" : "s"}`;

/** One notification in a few words: its channel and how it went. */
export function describeNotification(n: NotificationState): string {
  switch (n.status) {
    case "sent":
      return `${n.channelId}: sent`;
    case "failed":
      return `${n.channelId}: failed${n.lastStatus === null ? "" : ` (HTTP ${n.lastStatus})`}`;
    case "pending":
      return n.attempts === 0 ? `${n.channelId}: sending` : `${n.channelId}: retrying (${attempts(n.attempts)}${n.lastStatus === null ? "" : `, last HTTP ${n.lastStatus}`})`;
  }
}

/** What the panel says of an alert's notifications. */
export const notificationsLine = (list: readonly NotificationState[]): string =>
  list.length === 0 ? "No notification (no channel takes it)" : `Notified: ${list.map(describeNotification).join(" · ")}`;
