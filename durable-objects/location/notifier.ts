import type { Channel } from "../../protocol/notifications";
import type { NotificationInput } from "../../domain/location/notifications";
import { webhookHeaders, webhookId } from "../../domain/notifications/webhook";
import { noticeEvent, noticePayload } from "../../domain/notifications/notice";
import { nextDigestDue, type DigestTick } from "../../domain/location/digest-due";
import type { LocationState } from "../../domain/location/state";
import { ATTEMPT_TIMEOUT_MS, judgeAttempt, type AttemptResult } from "../../domain/notifications/retry";
import { nextNotificationDue } from "../../domain/location/timing";
import { notificationConfigStub } from "../notification-config";
import type { WriteMeter } from "../sql";
import type { OpenLocation } from "./open-location";

/** Alert changes fanned out per run, and notifications attempted per run (the alarm comes back for the rest at once). */
const FANOUT_BATCH = 100;
const SEND_BATCH = 20;
/** Retry delays when a run fails, e.g. the channel set cannot be read (growing up to the last). */
const CONFIG_RETRY_MS = [1_000, 2_000, 5_000, 15_000, 60_000];

/** What the notifier asks of its object: commit a decision (the one write path), or write a retry's bookkeeping. */
export interface NotifierHost {
  readonly env: Env;
  commit(input: NotificationInput | DigestTick): void;
  write(run: (meter: WriteMeter) => void): void;
}

/**
 * Sends a location's notifications, from its alarm. Each run:
 * 0. when the daily digest is due (domain/location/digest-due.ts), commits
 *    its `digest-due` entry with one `notification-queued` per channel taking
 *    "digest" (the channels read once, like for a fan-out);
 * 1. fans the alert changes in the outbox out to the channels that take
 *    them (one `notification-queued` per alert change and channel, committed
 *    with the outbox's removal: each alert change is fanned out once);
 * 2. attempts every pending notification that is due: signed anew
 *    (Standard Webhooks) with the same `webhook-id` and body every time; a 2xx
 *    commits `notification-sent`; a refusal (4xx but 429) or 24 hours of
 *    failures commits `notification-failed`; otherwise the next attempt is
 *    scheduled with backoff (domain/notifications/retry.ts).
 *
 * Pending notifications are a projection of the log (queued without an
 * outcome), so after an eviction or restart the alarm picks up where the last
 * instance stopped. An outcome is committed only while the notification is
 * still pending, so it has exactly one. Channels are read from the config
 * object only when there is something to do, and kept by version.
 */
export class Notifier {
  private channels: { version: number; list: Channel[] } | null = null;
  private running = false;
  private configFailures = 0;
  /** After a failed run, nothing (not even a due digest) runs again before this. */
  private retryAt = 0;
  /** When the next run is due (null: nothing to do); kept in memory so the commit path asks storage nothing. */
  private due: number | null = null;

  constructor(private readonly host: NotifierHost) {}

  /** Reads what is due from storage (on load). */
  load(open: OpenLocation, now: number): void {
    this.due = nextNotificationDue(open.notifications.hasOutbox(), open.notifications.nextDue(), now);
  }

  /** Alert changes were committed: fan-out is due now. */
  alertsCommitted(now: number): void {
    this.due = this.due === null ? now : Math.min(this.due, now);
  }

  /**
   * When the alarm should run the notifier: pending work, or the next daily
   * digest of `state` (null without `digestAt`); null while it runs (the
   * alarm sets the next one when it is done).
   */
  dueAt(state: LocationState | null, now: number): number | null {
    if (this.running) return null;
    const digest = state === null ? null : nextDigestDue(state, now);
    if (digest === null) return this.due;
    const at = Math.max(digest, this.retryAt);
    return this.due === null ? at : Math.min(this.due, at);
  }

  async run(open: OpenLocation, location: string, now: number): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.digest(open, location);
      await this.fanOut(open, location);
      await this.send(open, location);
      this.due = nextNotificationDue(open.notifications.hasOutbox(), open.notifications.nextDue(), Date.now());
      this.configFailures = 0;
      this.retryAt = 0;
    } catch (error) {
      // The channel set could not be read (or a commit failed): try again later, with growing delays.
      this.due = this.retryAt = now + CONFIG_RETRY_MS[Math.min(this.configFailures, CONFIG_RETRY_MS.length - 1)]!;
      this.configFailures++;
      console.warn(JSON.stringify({ msg: "notifications: the run failed; retrying", location, error: String(error) }));
    } finally {
      this.running = false;
    }
  }

  /** The channels that take this location's notifications, fetched again only when their version moved. */
  private async channelList(location: string): Promise<Channel[]> {
    const answer = await notificationConfigStub(this.host.env).channelsFor(location, this.channels?.version ?? null);
    if (answer.channels !== null || this.channels === null) this.channels = { version: answer.version, list: answer.channels ?? [] };
    return this.channels.list;
  }

  /** The daily digest, when due: the decider checks again at commit time (the channels were awaited meanwhile). */
  private async digest(open: OpenLocation, location: string): Promise<void> {
    const due = nextDigestDue(open.state, Date.now());
    if (due === null || due > Date.now()) return;
    const channels = await this.channelList(location);
    this.host.commit({ type: "digest-tick", channels, quarters: (from, to) => open.calendar.quarters(open.state, from, to) });
  }

  private async fanOut(open: OpenLocation, location: string): Promise<void> {
    for (;;) {
      const seqs = open.notifications.outbox(FANOUT_BATCH);
      if (seqs.length === 0) return;
      const channels = await this.channelList(location);
      this.host.commit({ type: "queue-notifications", alerts: open.alertsAt(seqs), channels, covers: seqs });
    }
  }

  private async send(open: OpenLocation, location: string): Promise<void> {
    const due = open.notifications.due(Date.now(), SEND_BATCH);
    if (due.length === 0) return;
    const channels = new Map((await this.channelList(location)).map((c) => [c.id, c]));
    for (const n of due) {
      const channel = channels.get(n.channelId);
      const notice = open.noticeOf(n.alertId);
      if (!channel || !notice || !channel.events.includes(noticeEvent(notice))) {
        const error = !channel ? "the channel was removed" : !notice ? "what it tells of is not in the log" : "the channel no longer takes this event";
        this.finish(open, n.id, n.channelId, { ok: false, attempts: n.attempts, status: null, error });
        continue;
      }
      const body = JSON.stringify(noticePayload(location, notice));
      const attempts = n.attempts + 1;
      const result = await attempt(channel.url, await webhookHeaders(channel.secret, webhookId(location, n.id), Date.now(), body), body);
      const verdict = judgeAttempt(result, attempts, n.queuedAt, Date.now(), Math.random());
      const status = result.status;
      if (verdict.kind === "sent") this.finish(open, n.id, n.channelId, { ok: true, attempts, status: status! });
      else if (verdict.kind === "failed") this.finish(open, n.id, n.channelId, { ok: false, attempts, status, error: verdict.error });
      else {
        const error = result.status === null ? result.error : `HTTP ${result.status}`;
        this.host.write((meter) => open.notifications.retryLater(meter, n.id, attempts, status, error, verdict.at));
      }
    }
  }

  /** Commits the outcome, unless another already was (the decider drops it then). */
  private finish(open: OpenLocation, notificationId: string, channelId: string, outcome: Extract<NotificationInput, { type: "record-notification" }>["outcome"]): void {
    this.host.commit({ type: "record-notification", notificationId, channelId, pending: open.notifications.isPending(notificationId), outcome });
  }
}

/** One POST: its status (and Retry-After), or the network error. Redirects are not followed (a receiver answers where it was asked). */
async function attempt(url: string, headers: Awaited<ReturnType<typeof webhookHeaders>>, body: string): Promise<AttemptResult> {
  try {
    const res = await fetch(url, { method: "POST", headers: { ...headers }, body, redirect: "manual", signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
    await res.body?.cancel();
    return { status: res.status, retryAfter: res.headers.get("retry-after") };
  } catch (error) {
    return { status: null, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}
