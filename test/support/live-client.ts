import { liveFrame, type EventsFrame, type LiveFrame, type LogEvent, type SnapshotFrame } from "../../protocol";

/**
 * A dashboard's view of a location without the dashboard: one live socket
 * (`GET /api/v1/locations/{location}/live`), every frame checked against the
 * contract and kept.
 */
export interface LiveClient {
  /** Every valid frame, in arrival order. */
  readonly frames: readonly LiveFrame[];
  /** The events of every events frame, in arrival order (the snapshot's `recent` excluded). */
  readonly events: readonly LogEvent[];
  /** Frames that broke the contract (not JSON, or failing the schema), with the reason. */
  readonly problems: readonly string[];
  /** The first frame. */
  readonly snapshot: SnapshotFrame;
  /** How the socket closed, once it did (null while open). */
  readonly closedWith: { code: number; reason: string; by: "server" | "client" } | null;
  /** Closes the socket (code 1000) and waits until it is closed (at most 5 s). */
  close(): Promise<void>;
}

export interface LiveClientOptions {
  /** Resume after this seq (`?since=`). */
  since?: number;
  /**
   * Called for each events frame with when its message arrived: the
   * `performance.now()` and `Date.now()` taken before any parsing (for latency
   * measurements).
   */
  onEvents?: (frame: EventsFrame, receivedAt: number, receivedWall: number) => void;
  /** How long to wait for the snapshot (default 10 s). */
  timeoutMs?: number;
}

/** Opens a live socket and resolves once the snapshot arrived. */
export async function openLive(workerUrl: string, location: string, options: LiveClientOptions = {}): Promise<LiveClient> {
  const url = new URL(`/api/v1/locations/${encodeURIComponent(location)}/live`, workerUrl.replace(/^http/, "ws"));
  if (options.since !== undefined) url.searchParams.set("since", String(options.since));
  const socket = new WebSocket(url);
  const frames: LiveFrame[] = [];
  const events: LogEvent[] = [];
  const problems: string[] = [];
  let closedWith: LiveClient["closedWith"] = null;
  let closing = false;
  const closed = new Promise<void>((resolve) =>
    socket.addEventListener("close", (e) => {
      closedWith = { code: e.code, reason: e.reason, by: closing ? "client" : "server" };
      resolve();
    }),
  );

  const snapshot = await new Promise<SnapshotFrame>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no snapshot from ${url} within ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
    socket.addEventListener("error", () => reject(new Error(`live socket ${url} failed`)));
    socket.addEventListener("close", (e) => reject(new Error(`live socket ${url} closed before its snapshot (${e.code} ${e.reason})`)));
    // Arrival is stamped in the message handler, and the frame checked on a
    // later turn (setImmediate): a process holding many sockets then stamps
    // every message that is ready before checking any, so the checks of the
    // others do not show up as the last socket's latency.
    const arrived: [data: unknown, at: number, wall: number][] = [];
    const check = () => {
      for (const [data, receivedAt, receivedWall] of arrived.splice(0)) {
        if (typeof data !== "string") {
          problems.push("binary frame");
          continue;
        }
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          problems.push(`not JSON: ${data.slice(0, 200)}`);
          continue;
        }
        const parsed = liveFrame.safeParse(json);
        if (!parsed.success) {
          problems.push(`${parsed.error.message.slice(0, 500)} in ${data.slice(0, 200)}`);
          continue;
        }
        const frame = parsed.data;
        if (frames.length === 0 && frame.type !== "snapshot") problems.push(`first frame is ${frame.type}, not snapshot`);
        frames.push(frame);
        if (frame.type === "snapshot") {
          clearTimeout(timer);
          resolve(frame);
        } else if (frame.type === "events") {
          events.push(...frame.events);
          options.onEvents?.(frame, receivedAt, receivedWall);
        }
      }
    };
    socket.addEventListener("message", (message) => {
      if (arrived.push([message.data, performance.now(), Date.now()]) === 1) setImmediate(check);
    });
  });

  return {
    frames,
    events,
    problems,
    snapshot,
    get closedWith() {
      return closedWith;
    },
    close: async () => {
      if (socket.readyState === WebSocket.CLOSED) return;
      closing = true;
      socket.close(1000);
      // The server answers the close handshake; if its answer is lost, do not hang a test's teardown on it.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}
