import { z } from "zod";
import { logEvent, type LogEvent } from "../../../protocol/events";
import { formatIssues } from "../../../protocol/issues";
import { PONG, eventsFrame, resyncFrame, snapshotFrame, windowFrame } from "../../../protocol/live";
import type { ScoreWindow } from "../../../protocol/read";

/**
 * The live frames with their events left unparsed, so that one event the
 * dashboard cannot read (a newer kind, or a malformed one) costs that event,
 * never the frame: the window and head still apply.
 */
const frameEnvelope = z.discriminatedUnion("type", [
  snapshotFrame.extend({ recent: z.array(z.unknown()) }),
  eventsFrame.extend({ events: z.array(z.unknown()) }),
  windowFrame,
  resyncFrame,
]);

/** Event kinds this build of the dashboard understands. */
const KNOWN_TYPES: ReadonlySet<string> = new Set(logEvent.options.map((option) => option.shape.type.value));

/**
 * A live frame as the dashboard uses it: every kind carries head and events in
 * seq order (none for `window` and `resync`), and all but `resync` the window.
 */
export interface Frame {
  type: "snapshot" | "events" | "window" | "resync";
  location: string;
  head: number;
  window: ScoreWindow | null;
  events: LogEvent[];
  /** Highest seq in the frame, counting events that were skipped, so a resume does not ask for them again. */
  lastSeq: number | null;
}

/** One message of a live socket as read: a pong, a frame (with what was skipped in it), or nothing usable. */
export type FrameResult<F = Frame> =
  | { kind: "pong" }
  | { kind: "frame"; frame: F; problems: string[] }
  | { kind: "invalid"; problems: string[] };

/**
 * Reads one message of a live socket. Events of a type this build does not
 * know are skipped silently (newer servers add kinds); a malformed event of a
 * known type, or a malformed frame, is reported in `problems` for the console.
 */
export function readFrame(data: unknown): FrameResult {
  if (data === PONG) return { kind: "pong" };
  if (typeof data !== "string") return { kind: "invalid", problems: ["frame is not text"] };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { kind: "invalid", problems: [`frame is not JSON: ${data.slice(0, 80)}`] };
  }
  const parsed = frameEnvelope.safeParse(json);
  if (!parsed.success) return { kind: "invalid", problems: formatIssues(parsed.error) };

  const frame = parsed.data;
  if (frame.type === "window" || frame.type === "resync") {
    const window = frame.type === "window" ? frame.window : null;
    return { kind: "frame", frame: { type: frame.type, location: frame.location, head: frame.head, window, events: [], lastSeq: null }, problems: [] };
  }
  const { events, problems, lastSeq } = readEvents(frame.type === "snapshot" ? frame.recent : frame.events);
  const { type, location, head, window } = frame;
  return { kind: "frame", frame: { type, location, head, window, events, lastSeq }, problems };
}

/**
 * Reads a list of log entries one by one: kinds this build does not know are
 * skipped silently, a malformed entry of a known kind is reported. `lastSeq`
 * counts skipped entries too.
 */
export function readEvents(raw: unknown[]): { events: LogEvent[]; problems: string[]; lastSeq: number | null } {
  const events: LogEvent[] = [];
  const problems: string[] = [];
  let lastSeq: number | null = null;
  raw.forEach((candidate, index) => {
    const seq = seqOf(candidate);
    if (seq !== null) lastSeq = Math.max(lastSeq ?? 0, seq);
    const event = logEvent.safeParse(candidate);
    if (event.success) events.push(event.data);
    else if (KNOWN_TYPES.has(typeOf(candidate) ?? "")) {
      problems.push(...formatIssues(event.error).map((issue) => `event ${index}: ${issue}`));
    }
  });
  return { events, problems, lastSeq };
}

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;

function seqOf(value: unknown): number | null {
  const seq = field(value, "seq");
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

function typeOf(value: unknown): string | null {
  const type = field(value, "type");
  return typeof type === "string" ? type : null;
}
