import type { NotificationEvent, WebhookPayload } from "../../protocol/notifications";
import { digestPayload } from "../location/digest";
import type { AlertEntry, DigestDueEntry } from "../location/entries";
import { alertPayload } from "./webhook";

/** What a notification tells of: an alert change, or a daily digest (its `digest-due` entry). */
export type Notice = AlertEntry | DigestDueEntry;

/** The channel event a notice is sent for. */
export const noticeEvent = (notice: Notice): NotificationEvent => (notice.type === "digest-due" ? "digest" : notice.type);

/** Its webhook body, built from the log entry alone: the same bytes on every attempt, across restarts. */
export const noticePayload = (location: string, notice: Notice): WebhookPayload =>
  notice.type === "digest-due" ? digestPayload(location, notice.displayName, notice.digest, notice.occurredAt) : alertPayload(location, notice);
