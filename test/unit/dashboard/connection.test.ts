import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveConnection, type ConnectionState, type SocketLike } from "../../../dashboard/src/lib/connection";
import { readFrame, type Frame } from "../../../dashboard/src/lib/frames";
import { T0, reading, scoreWindow } from "./fixtures";

/** A WebSocket the test drives by hand (the browser's is exercised in test/node/dashboard.test.ts). */
class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  receive(data: unknown) {
    this.onmessage?.({ data } as MessageEvent);
  }
  serverClose() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 } as CloseEvent);
  }
}

const snapshotText = (head: number) =>
  JSON.stringify({ type: "snapshot", location: "MTC", head, window: scoreWindow(T0), recent: head ? [reading(head)] : [] });
const eventsText = (seq: number) => JSON.stringify({ type: "events", location: "MTC", head: seq, window: scoreWindow(T0), events: [reading(seq)] });

function harness(options: { online?: boolean } = {}) {
  const sockets: FakeSocket[] = [];
  const frames: { frame: Frame; since: number | null }[] = [];
  const states: { state: ConnectionState; retryInMs: number | null }[] = [];
  const logs: string[] = [];
  let cursor: number | null = null;
  const connection = new LiveConnection({
    url: (since) => `ws://test/live${since === null ? "" : `?since=${since}`}`,
    resumeFrom: () => cursor,
    read: readFrame,
    onFrame: (frame, since) => {
      frames.push({ frame, since });
      cursor = Math.max(cursor ?? 0, frame.lastSeq ?? frame.head);
    },
    onState: (state, retryInMs) => states.push({ state, retryInMs }),
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    random: () => 0.5,
    isOnline: () => options.online ?? true,
    log: (message) => logs.push(message),
    backoff: { baseMs: 1_000, maxMs: 8_000 },
    pingEveryMs: 20_000,
    pongTimeoutMs: 5_000,
    offlineAfter: 3,
  });
  const last = () => sockets.at(-1)!;
  /** Starts, opens the socket and delivers the snapshot: the connection is live. */
  const goLive = (head: number) => {
    connection.start();
    last().open();
    last().receive(snapshotText(head));
  };
  return { connection, sockets, frames, states, logs, last, goLive };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("live connection", () => {
  it("opens fresh, goes live on the snapshot and passes frames on in order", () => {
    const h = harness();
    h.connection.start();
    expect(h.last().url).toBe("ws://test/live");
    h.last().open();
    h.last().receive(snapshotText(3));
    h.last().receive(eventsText(4));
    expect(h.states).toEqual([{ state: "live", retryInMs: null }]);
    expect(h.frames.map((f) => [f.frame.type, f.frame.head, f.since])).toEqual([
      ["snapshot", 3, null],
      ["events", 4, null],
    ]);
    h.connection.stop();
  });

  it("reconnects after a drop with growing, capped delays and resumes from the cursor", () => {
    const h = harness();
    h.goLive(7);
    h.last().serverClose();
    // random 0.5 with equal jitter: 3/4 of the ceiling (1 s, 2 s, 4 s, 8 s, 8 s…).
    expect(h.states.at(-1)).toEqual({ state: "reconnecting", retryInMs: 750 });
    vi.advanceTimersByTime(749);
    expect(h.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.last().url).toBe("ws://test/live?since=7");

    const delays: (number | null)[] = [];
    for (let i = 0; i < 4; i++) {
      h.last().serverClose();
      delays.push(h.states.at(-1)!.retryInMs);
      vi.advanceTimersByTime(h.states.at(-1)!.retryInMs!);
    }
    expect(delays).toEqual([1_500, 3_000, 6_000, 6_000]);
    expect(h.states.at(-1)!.state).toBe("offline"); // three failures in a row and more

    h.last().open();
    h.last().receive(snapshotText(9));
    expect(h.states.at(-1)).toEqual({ state: "live", retryInMs: null });
    h.last().serverClose();
    expect(h.states.at(-1)).toEqual({ state: "reconnecting", retryInMs: 750 }); // a success resets the backoff
    h.connection.stop();
  });

  it("says offline at once when the browser reports no network", () => {
    const h = harness({ online: false });
    h.connection.start();
    h.last().serverClose();
    expect(h.states.at(-1)!.state).toBe("offline");
    h.connection.stop();
  });

  it("pings, and treats a missing answer as a dead connection", () => {
    const h = harness();
    h.goLive(1);
    vi.advanceTimersByTime(20_000);
    expect(h.last().sent).toEqual(["ping"]);
    h.last().receive("pong");
    vi.advanceTimersByTime(20_000);
    expect(h.last().sent).toEqual(["ping", "ping"]);
    const silent = h.last();
    vi.advanceTimersByTime(4_999);
    expect(silent.closed).toBeNull();
    vi.advanceTimersByTime(1);
    expect(silent.closed).not.toBeNull();
    expect(h.logs).toContain("no answer to ping: reconnecting");
    expect(h.states.at(-1)!.state).toBe("reconnecting");
    vi.advanceTimersByTime(750);
    expect(h.sockets).toHaveLength(2);
    expect(h.last().url).toBe("ws://test/live?since=1");
    h.connection.stop();
  });

  it("counts any frame as a sign of life", () => {
    const h = harness();
    h.goLive(1);
    vi.advanceTimersByTime(20_000);
    h.last().receive(eventsText(2));
    vi.advanceTimersByTime(10_000);
    expect(h.sockets).toHaveLength(1);
    expect(h.last().closed).toBeNull();
    h.connection.stop();
  });

  it("logs and ignores a malformed frame without dropping the connection", () => {
    const h = harness();
    h.connection.start();
    h.last().open();
    h.last().receive("{ nope");
    h.last().receive(JSON.stringify({ type: "events", location: "MTC", head: 1 }));
    h.last().receive(snapshotText(1));
    expect(h.frames).toHaveLength(1);
    expect(h.logs).toHaveLength(2);
    expect(h.logs[0]).toMatch(/^ignored a frame: frame is not JSON/);
    expect(h.states).toEqual([{ state: "live", retryInMs: null }]);
    h.connection.stop();
  });

  it("ignores late events of a socket it already gave up, and an error followed by close counts once", () => {
    const h = harness();
    h.connection.start();
    const first = h.last();
    first.onerror?.(new Event("error"));
    first.serverClose();
    expect(h.states).toHaveLength(1);
    first.receive(snapshotText(5));
    expect(h.frames).toHaveLength(0);
    h.connection.stop();
  });

  it("retries at once on request, and stop() closes for good", () => {
    const h = harness();
    h.connection.start();
    h.last().serverClose();
    h.connection.retryNow();
    expect(h.sockets).toHaveLength(2);
    h.connection.retryNow(); // no reconnect pending: nothing to skip
    expect(h.sockets).toHaveLength(2);
    const current = h.last();
    h.connection.stop();
    expect(current.closed).toEqual({ code: 1000, reason: "view closed" });
    current.serverClose();
    vi.advanceTimersByTime(60_000);
    expect(h.sockets).toHaveLength(2);
  });
});
