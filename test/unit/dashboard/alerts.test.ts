import { describe, expect, it } from "vitest";
import { describeNotification, notificationsLine } from "../../../dashboard/src/lib/alerts";
import type { NotificationState } from "../../../protocol/notifications";

const n = (over: Partial<NotificationState>): NotificationState => ({
  id: "~alert-4.ops",
  alertId: "~alert-4",
  channelId: "ops",
  event: "alert-raised",
  status: "pending",
  attempts: 0,
  lastStatus: null,
  queuedAt: "2026-12-03T12:00:00.000Z",
  doneAt: null,
  ...over,
});

describe("the alerts panel's notification line", () => {
  it("says per channel whether it was sent, is on its way or retrying, or failed and how", () => {
    expect(describeNotification(n({ status: "sent", attempts: 1, lastStatus: 200 }))).toBe("ops: sent");
    expect(describeNotification(n({}))).toBe("ops: sending");
    expect(describeNotification(n({ attempts: 2, lastStatus: 503 }))).toBe("ops: retrying (2 attempts, last HTTP 503)");
    expect(describeNotification(n({ attempts: 1 }))).toBe("ops: retrying (1 attempt)");
    expect(describeNotification(n({ status: "failed", attempts: 1, lastStatus: 410 }))).toBe("ops: failed (HTTP 410)");
    expect(describeNotification(n({ status: "failed", attempts: 0 }))).toBe("ops: failed");
  });

  it("lists every channel, or says none took the alert", () => {
    expect(notificationsLine([])).toBe("No notification (no channel takes it)");
    expect(notificationsLine([n({ status: "sent" }), n({ channelId: "chat", status: "failed", lastStatus: 404 })])).toBe("Notified: ops: sent · chat: failed (HTTP 404)");
  });
});
