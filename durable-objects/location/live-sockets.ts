import { CLOSE, PING, PONG, type EventsFrame, type LiveFrame, type LogEvent, type ScoreWindow } from "../../protocol";
import { MAX_FRAME_CHARS, RESUME_PAGE } from "../../protocol/live";

/** Tag on every live socket of a location; lets `getWebSockets` stay cheap if other kinds appear. */
export const LIVE_TAG = "live";

/** Sockets one location accepts unless MAX_SOCKETS_PER_LOCATION says otherwise. */
export const DEFAULT_MAX_SOCKETS = 10_000;

/** What a socket remembers across hibernation (kept small: attachments are capped at 2 KiB). */
export interface LiveAttachment {
  connectedAt: number;
  /** The seq the client resumed from, if any (for diagnostics). */
  since: number | null;
}

/** Answers pings without waking the object. */
export function enablePingAutoResponse(ctx: DurableObjectState): void {
  ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
}

export function sendFrame(ws: WebSocket, frame: LiveFrame): void {
  ws.send(JSON.stringify(frame));
}

/** The live sockets that can take a frame now (not still connecting, not closing). */
export function openSockets(ctx: DurableObjectState): WebSocket[] {
  return ctx.getWebSockets(LIVE_TAG).filter((ws) => ws.readyState === WebSocket.OPEN);
}

/**
 * Sends frames to every open live socket. The frames are built (`frames()`,
 * which computes the window) and serialised once, and only when a socket is
 * open; a send that fails (the peer vanished) only loses that peer.
 */
export function broadcast(ctx: DurableObjectState, frames: () => LiveFrame[]): number {
  const open = openSockets(ctx);
  if (open.length === 0) return 0;
  const texts = frames().map((f) => JSON.stringify(f));
  let sent = 0;
  for (const ws of open) {
    try {
      for (const text of texts) ws.send(text);
      sent++;
    } catch {
      // A failing peer is closed by the runtime; the others must still get the frames.
    }
  }
  return sent;
}

/**
 * One batch as `events` frames, each under MAX_FRAME_CHARS of JSON: a batch of
 * 1,000 events with properties can pass the platform's 1 MiB message limit, so
 * it is cut in seq order (every frame carries the same head and window).
 */
export function eventsFrames(location: string, head: number, events: readonly LogEvent[], window: ScoreWindow): EventsFrame[] {
  const frames: EventsFrame[] = [];
  const overhead = JSON.stringify({ type: "events", location, head, events: [], window }).length;
  let part: LogEvent[] = [];
  let size = overhead;
  for (const e of events) {
    const chars = JSON.stringify(e).length + 1;
    if (part.length > 0 && size + chars > MAX_FRAME_CHARS) {
      frames.push({ type: "events", location, head, events: part, window });
      part = [];
      size = overhead;
    }
    part.push(e);
    size += chars;
  }
  if (part.length > 0) frames.push({ type: "events", location, head, events: part, window });
  return frames;
}

/**
 * The resume backlog: every event in (since, head] in pages, each as one or
 * more `events` frames. The caller sends these synchronously right after the
 * snapshot, so no committed batch can slip in between.
 */
export function* backlogFrames(
  location: string,
  head: number,
  since: number,
  window: ScoreWindow,
  range: (after: number, limit: number) => LogEvent[],
): Generator<EventsFrame> {
  let after = since;
  while (after < head) {
    const events = range(after, RESUME_PAGE);
    if (events.length === 0) break;
    yield* eventsFrames(location, head, events, window);
    after = events[events.length - 1]!.seq;
  }
}

/** Codes a peer may report but no endpoint may send: answer them with a normal close. */
function closeCodeFor(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 ? CLOSE.normal : code;
}

/** Answers a peer's close (a hibernatable socket's `webSocketClose`), with a code an endpoint may send. */
export function answerClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(closeCodeFor(code), reason);
  } catch {
    // Already closed on our side: nothing left to answer.
  }
}

/** Closes a socket that failed (a hibernatable socket's `webSocketError`). */
export function closeAfterError(ws: WebSocket): void {
  try {
    ws.close(1011, "socket error");
  } catch {
    // The socket is already gone.
  }
}
