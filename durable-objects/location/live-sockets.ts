import { CLOSE, PING, PONG, type EventsFrame, type LiveFrame, type LogEvent, type ScoreWindow } from "../../protocol";
import { RESUME_PAGE } from "../../protocol/live";

/** Tag on every live socket of a location; lets `getWebSockets` stay cheap if other kinds appear. */
export const LIVE_TAG = "live";

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

/**
 * Sends one frame to every open live socket. The frame is built (`frame()`,
 * which computes the window) and serialised once, and only when a socket is
 * open; sockets still connecting or already closing are skipped, and a send
 * that fails (the peer vanished) only loses that peer.
 */
export function broadcast(ctx: DurableObjectState, frame: () => EventsFrame): number {
  const open = ctx.getWebSockets(LIVE_TAG).filter((ws) => ws.readyState === WebSocket.OPEN);
  if (open.length === 0) return 0;
  const text = JSON.stringify(frame());
  let sent = 0;
  for (const ws of open) {
    try {
      ws.send(text);
      sent++;
    } catch {
      // A failing peer is closed by the runtime; the others must still get the frame.
    }
  }
  return sent;
}

/**
 * The resume backlog: every event in (since, head] in pages, each as an
 * `events` frame. The caller sends these synchronously right after the
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
    yield { type: "events", location, head, events, window };
    after = events[events.length - 1]!.seq;
  }
}

/** Codes a peer may report but no endpoint may send: answer them with a normal close. */
export function closeCodeFor(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 ? CLOSE.normal : code;
}
