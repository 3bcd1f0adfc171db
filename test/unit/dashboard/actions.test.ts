import { describe, expect, it } from "vitest";
import { logEvent } from "../../../protocol";
import { describeAction, type ActionEvent } from "../../../dashboard/src/lib/actions";
import { applyFrame, emptyFeed } from "../../../dashboard/src/lib/feed";
import { readFrame } from "../../../dashboard/src/lib/frames";
import { T0, reading, scoreWindow } from "./fixtures";

const at = new Date(T0).toISOString();
const entry = (seq: number, kind: string) => ({ seq, id: `~${kind}-${seq}`, occurredAt: at, recordedAt: at });
const judgement = { ruleId: "low-score", deviceId: "arduino1010", metric: "score", op: "below", threshold: 0.7, value: 1 / 3, samples: 3 } as const;

/** Each kind through the contract's own schema, so the fixtures cannot drift from it. */
const parse = (raw: unknown): ActionEvent => {
  const event = logEvent.parse(raw);
  if (event.type === "reading") throw new Error("expected an action");
  return event;
};
const raised = parse({ ...entry(4, "alert"), type: "alert-raised", ...judgement });
const cleared = parse({ ...entry(6, "alert"), type: "alert-cleared", ...judgement, value: 0.75 });
const command = parse({ ...entry(5, "command"), type: "command-issued", deviceId: "arduino1010", payload: "ON", ruleId: "low-score", cause: "~alert-4" });
const delivered = parse({ ...entry(7, "delivery"), type: "command-delivered", deviceId: "arduino1010", commandId: "~command-5" });
const hot = parse({ ...entry(8, "alert"), type: "alert-raised", ...judgement, metric: "temperature", op: "above", threshold: 30, value: 31.5, samples: 1 });
const rules = parse({
  ...entry(9, "rules"),
  type: "rules-set",
  rules: [{ id: "low-score", metric: "score", op: "below", threshold: 0.7, minSamples: 3, raise: "ON", clear: "OFF" }],
});

describe("alerts panel lines", () => {
  it("says what a rule did, to which device, and why", () => {
    expect(describeAction(raised, "C")).toEqual({
      tone: "alert",
      title: "Alert raised",
      detail: "arduino1010: score 0.33, below 0.70 (3 votes; rule low-score)",
    });
    expect(describeAction(cleared, "C")).toEqual({ tone: "clear", title: "Alert cleared", detail: "arduino1010: score back to 0.75 (rule low-score)" });
    expect(describeAction(command, "C")).toEqual({ tone: "command", title: "Command sent", detail: '"ON" to arduino1010' });
    expect(describeAction(delivered, "C")).toEqual({ tone: "command", title: "Command delivered", detail: "to arduino1010" });
    expect(describeAction(rules, "C")).toEqual({ tone: "info", title: "Rules changed", detail: "low-score" });
  });

  it("names the silent device of an offline alert and how long it has been silent, in intervals", () => {
    const offline = { ...judgement, ruleId: "silent", metric: "offline", op: "above", threshold: 3, samples: 0 } as const;
    expect(describeAction(parse({ ...entry(10, "alert"), type: "alert-raised", ...offline, value: 3.0417 }), "C")).toEqual({
      tone: "alert",
      title: "Device offline",
      detail: "arduino1010: silent 3.04× its expected interval, more than 3× (rule silent)",
    });
    expect(describeAction(parse({ ...entry(11, "alert"), type: "alert-cleared", ...offline, value: 0 }), "C")).toEqual({
      tone: "clear",
      title: "Device back",
      detail: "arduino1010: no longer offline (rule silent)",
    });
    const pushed = parse({
      ...entry(12, "profiles"),
      type: "device-profiles-set",
      profiles: [
        { deviceId: "arduino1010", profile: { name: "Lobby", expectedIntervalSeconds: 60, enabled: true } },
        { deviceId: "b2", profile: { name: null, expectedIntervalSeconds: null, enabled: false } },
        { deviceId: "b3", profile: null },
      ],
    });
    expect(describeAction(pushed, "C")).toEqual({ tone: "info", title: "Devices registered", detail: "Lobby (every 60 s), b2 (no interval, disabled), b3 no longer here" });
  });

  it("names a daily digest and its notifications as a digest, not an alert", () => {
    const figures = { votes: 9, score: 0.5, happy: 3, neutral: 3, sad: 3 };
    const digest = parse({
      ...entry(13, "digest"),
      type: "digest-due",
      digest: { date: "2026-12-03", ...figures, timeZone: "UTC", worstHour: null, previous: { date: "2026-12-02", ...figures }, change: { score: 0, votes: 0 } },
    });
    expect(describeAction(digest, "C")).toEqual({ tone: "info", title: "Daily digest", detail: "2026-12-03" });
    const queued = parse({ ...entry(14, "notify"), type: "notification-queued", notificationId: "digest-2026-12-03.ops", channelId: "ops", alertId: "~digest-13", event: "digest" });
    expect(describeAction(queued, "C").detail).toBe("digest ~digest-13 to ops");
    const alert = parse({ ...entry(15, "notify"), type: "notification-queued", notificationId: "~alert-4.ops", channelId: "ops", alertId: "~alert-4", event: "alert-raised" });
    expect(describeAction(alert, "C").detail).toBe("alert ~alert-4 to ops");
  });

  it("shows temperatures in the viewer's unit", () => {
    expect(describeAction(hot, "C").detail).toBe("arduino1010: temperature 31.5 °C, above 30.0 °C (1 reading; rule low-score)");
    expect(describeAction(hot, "F").detail).toBe("arduino1010: temperature 88.7 °F, above 86.0 °F (1 reading; rule low-score)");
  });

  it("counts votes for a location's votes rule (fewer than N during opening hours)", () => {
    const quiet = parse({ ...entry(10, "alert"), type: "alert-raised", ruleId: "quiet", metric: "votes", op: "below", threshold: 3, value: 1, samples: 1 });
    expect(describeAction(quiet, "C").detail).toBe("the location: votes 1, below 3 (1 vote; rule quiet)");
  });

  it("come from live frames beside the readings, never inside the VOTES table", () => {
    const frame = readFrame(
      JSON.stringify({ type: "events", location: "MTC", head: 5, window: scoreWindow(T0), events: [reading(3), raised, command] }),
    );
    if (frame.kind !== "frame") throw new Error("expected a frame");
    const feed = applyFrame(emptyFeed(), frame.frame, null, 0);
    expect(feed.votes.map((r) => r.seq)).toEqual([3]);
    expect(feed.others.map((e) => [e.seq, e.type])).toEqual([
      [5, "command-issued"],
      [4, "alert-raised"],
    ]);
  });
});
