import type { QuarterBucket } from "../calendar/quarters";
import { dayNumber } from "../calendar/zone";
import { digestNotificationId, digestOf, digestSpan, nextDigest } from "./digest";
import type { Draft } from "./entries";
import type { ChannelRoute } from "./notifications";
import type { LocationState } from "./state";

/**
 * The daily digest in the location's decider: when the alarm finds one due,
 * one `digest-due` entry (what it says, dated at its due instant) and, in the
 * same commit, one `notification-queued` per channel taking "digest" (the
 * channels are already filtered to this location). The sender then delivers
 * them like alert notifications, the body built from the `digest-due` entry.
 *
 * `lastDigestDate` (the log's last `digest-due`) is what makes it once per
 * local date: after the commit the next digest covers the day after, so a
 * second alarm the same day finds nothing due. A digest due with no channel
 * taking it is still committed: it records that the day was handled, so a
 * channel added later that day gets the next day's digest, not a late one.
 */
export interface DigestTick {
  type: "digest-tick";
  /** The channels in force now (the config object's answer for this location). */
  channels: readonly ChannelRoute[];
  /** The location's quarter buckets starting in [from, to): storage overlaid by memory. */
  quarters: (from: number, to: number) => Iterable<QuarterBucket>;
}

/** When the next digest is due (possibly in the past: due at once); null without `digestAt`. */
export const nextDigestDue = (state: LocationState, now: number): number | null => nextDigest(state.calendar.settings, state.lastDigestDate, now)?.at ?? null;

export function decideDigest(state: LocationState, input: DigestTick, now: number): Draft[] {
  const settings = state.calendar.settings;
  const next = nextDigest(settings, state.lastDigestDate, now);
  if (next === null || next.at > now) return [];
  const day = dayNumber(next.date);
  const { from, to } = digestSpan(settings, day);
  const digest = digestOf(input.quarters(from, to), settings, day);
  const out: Draft[] = [{ type: "digest-due", digest, ...(settings.displayName !== undefined && { displayName: settings.displayName }), occurredAt: next.at }];
  for (const channel of input.channels) {
    if (!channel.events.includes("digest")) continue;
    out.push({ type: "notification-queued", notificationId: digestNotificationId(next.date, channel.id), channelId: channel.id, causeIndex: 0, event: "digest", occurredAt: now });
  }
  return out;
}
