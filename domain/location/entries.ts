import type { Rule } from "../../protocol/actions";
import type { Readings } from "../../protocol/readings";
import type { LocationSettings } from "../../protocol/settings";
import type { DeviceProfileUpdate } from "../../protocol/device-profiles";
import type { Judgement } from "../rules";
import type { Digest } from "../../protocol/events";

/**
 * A location's log entries as the decider sees them: typed data with epoch-ms
 * times. The object stores them as rows (durable-objects/location/event-log.ts)
 * and sends them as `LogEvent`s (protocol/events.ts); both are mappings of these.
 */
interface Base {
  /** Per-location sequence number, allocated by `allocate` only. */
  seq: number;
  id: string;
  occurredAt: number;
  recordedAt: number;
}

export type ReadingEntry = Base & Readings & { type: "reading"; deviceId: string; properties?: Record<string, string> };
export type RulesSetEntry = Base & { type: "rules-set"; rules: Rule[] };
export type AlertEntry = Base & Judgement & { type: "alert-raised" | "alert-cleared" };
export type CommandIssuedEntry = Base & { type: "command-issued"; deviceId: string; payload: string; ruleId: string | null; cause: string | null };
export type CommandDeliveredEntry = Base & { type: "command-delivered"; deviceId: string; commandId: string };
export type SettingsSetEntry = Base & { type: "settings-set"; settings: LocationSettings };
/** Profiles the device registry pushed, only those that changed (domain/location/offline.ts). */
export type DeviceProfilesSetEntry = Base & { type: "device-profiles-set"; profiles: DeviceProfileUpdate[] };

/** `alertId`: the entry it tells of, an alert change or a `digest-due`. */
export type NotificationQueuedEntry = Base & { type: "notification-queued"; notificationId: string; channelId: string; alertId: string; event: "alert-raised" | "alert-cleared" | "digest" };
export type NotificationSentEntry = Base & { type: "notification-sent"; notificationId: string; channelId: string; attempts: number; status: number };
export type NotificationFailedEntry = Base & { type: "notification-failed"; notificationId: string; channelId: string; attempts: number; status: number | null; error: string };
export type AlertAcknowledgedEntry = Base & { type: "alert-acknowledged"; alertId: string; comment: string | null };
/**
 * The alarm found a daily digest due (domain/location/digest-due.ts): what it
 * says, and the display name in force, so every attempt of its notifications
 * sends the same body. `occurredAt` is its due instant (the body's timestamp).
 */
export type DigestDueEntry = Base & { type: "digest-due"; digest: Digest; displayName?: string };
export type NotificationEntry = NotificationQueuedEntry | NotificationSentEntry | NotificationFailedEntry | AlertAcknowledgedEntry | DigestDueEntry;

export type Entry =
  | ReadingEntry
  | RulesSetEntry
  | AlertEntry
  | CommandIssuedEntry
  | CommandDeliveredEntry
  | NotificationEntry
  | SettingsSetEntry
  | DeviceProfilesSetEntry;
export type EntryType = Entry["type"];

type Unallocated<E extends Entry> = Omit<E, "seq" | "id" | "recordedAt">;

/**
 * An entry decided but not yet in the log: `allocate` gives it its seq, its
 * id (readings keep the device's) and its recorded time. A command names the
 * alert that caused it by its index among the same drafts; so does a
 * notification of an entry of the same drafts (a digest's, of its `digest-due`).
 */
export type Draft =
  | (Unallocated<ReadingEntry> & { id: string })
  | Unallocated<RulesSetEntry>
  | Unallocated<AlertEntry>
  | (Omit<Unallocated<CommandIssuedEntry>, "cause"> & { causeIndex: number | null })
  | Unallocated<CommandDeliveredEntry>
  | Unallocated<NotificationQueuedEntry>
  | (Omit<Unallocated<NotificationQueuedEntry>, "alertId"> & { causeIndex: number })
  | Unallocated<NotificationSentEntry>
  | Unallocated<NotificationFailedEntry>
  | Unallocated<AlertAcknowledgedEntry>
  | Unallocated<SettingsSetEntry>
  | Unallocated<DeviceProfilesSetEntry>
  | Unallocated<DigestDueEntry>;

/** The kind part of a system entry's id (`~kind-seq`). */
const ID_KIND: Record<Exclude<EntryType, "reading">, string> = {
  "rules-set": "rules",
  "alert-raised": "alert",
  "alert-cleared": "clear",
  "command-issued": "cmd",
  "command-delivered": "delivered",
  "notification-queued": "notify",
  "notification-sent": "sent",
  "notification-failed": "failed",
  "alert-acknowledged": "ack",
  "settings-set": "settings",
  "device-profiles-set": "profiles",
  "digest-due": "digest",
};

/**
 * The one place seqs and ids are given out: drafts become entries numbered
 * head + 1, head + 2, … System entries get `~kind-seq`, so the same decisions
 * at the same place in the log always get the same ids (a replay reproduces
 * them), and they never collide with a device's message id.
 */
export function allocate(head: number, drafts: readonly Draft[], now: number): Entry[] {
  const ids = drafts.map((d, i) => (d.type === "reading" ? d.id : `~${ID_KIND[d.type]}-${head + 1 + i}`));
  return drafts.map((d, i): Entry => {
    const seq = head + 1 + i;
    const id = ids[i]!;
    if (d.type === "command-issued") {
      const { causeIndex, ...rest } = d;
      return { ...rest, seq, id, recordedAt: now, cause: causeIndex === null ? null : (ids[causeIndex] ?? null) };
    }
    if (d.type === "notification-queued" && "causeIndex" in d) {
      const { causeIndex, ...rest } = d;
      return { ...rest, seq, id, recordedAt: now, alertId: ids[causeIndex]! };
    }
    // Spreading a union member keeps its type, but TypeScript cannot follow the correlation through the spread.
    return { ...d, seq, id, recordedAt: now } as Entry;
  });
}
