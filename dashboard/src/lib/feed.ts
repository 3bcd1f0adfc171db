import { SNAPSHOT_RECENT } from "../../../protocol/live";
import type { LogEvent, ReadingEvent, ScoreWindow } from "../../../protocol";
import { isAction, type ActionEvent } from "./actions";
import type { Frame } from "./frames";

/** A device reading that carries a vote: a row of the VOTES table. Readings without one are climate reports (the chart's). */
export type VoteEvent = ReadingEvent & { vote: NonNullable<ReadingEvent["vote"]> };

/** Rows the VOTES table keeps: the newest 50 votes, like the talk's dashboard. */
export const TABLE_ROWS = SNAPSHOT_RECENT;

/** What one location's view knows; replaced, never mutated, so a view can hold it as plain state. */
export interface Feed {
  head: number;
  /**
   * Highest seq received in order: what a reconnect resumes from. null before
   * the first snapshot. Frames arrive in seq order, so the newest seq of each
   * applied events frame is contiguous with everything before it.
   */
  cursor: number | null;
  window: ScoreWindow | null;
  /** Client clock (ms) when the server last confirmed `window`. */
  windowAt: number | null;
  /** recordedAt of the newest event seen. */
  lastEventAt: string | null;
  /** Votes (readings that carry one), newest first, at most TABLE_ROWS, each seq once. */
  votes: VoteEvent[];
  /** Known events of other kinds (rules, alerts, commands), newest first, at most TABLE_ROWS: the alerts panel lists them. */
  others: ActionEvent[];
}

export const emptyFeed = (): Feed => ({
  head: 0,
  cursor: null,
  window: null,
  windowAt: null,
  lastEventAt: null,
  votes: [],
  others: [],
});

/** A window replaces the one shown only if it was computed at the same time or later. */
export const newerWindow = (current: ScoreWindow | null, candidate: ScoreWindow): boolean =>
  current === null || Date.parse(candidate.to) >= Date.parse(current.to);

/**
 * Applies one live frame. `resumedFrom` is the `since` the socket was opened
 * with (null for a fresh connection).
 *
 * - A snapshot on a fresh connection replaces what is shown. So does one whose
 *   head is behind the resume point: that server's log was reset.
 * - A snapshot answering a resume only adds its recent events (the backlog
 *   frames that follow bring everything in between) and leaves the cursor
 *   where it was, so a drop during the backlog resumes from the right place.
 * - An events frame adds its events and moves the cursor to its newest seq.
 * - A window frame (the window aged with no event) replaces the window.
 * - A resync frame (the resume was too far behind for a backlog) starts
 *   fresh from the snapshot just applied: its recent events are the newest
 *   entries, so the table is whole; the cursor moves to the head.
 *
 * Events are kept by seq, so applying a frame twice changes nothing.
 */
export function applyFrame(feed: Feed, frame: Frame, resumedFrom: number | null, receivedAt: number): Feed {
  if (frame.type === "window") return { ...withWindow(feed, frame.window, receivedAt), head: Math.max(feed.head, frame.head) };
  if (frame.type === "resync") return { ...feed, head: frame.head, cursor: Math.max(feed.cursor ?? 0, frame.head) };
  const resumes = frame.type === "snapshot" && resumedFrom !== null && frame.head >= resumedFrom;
  const replaces = frame.type === "snapshot" && !resumes;
  const base = replaces ? { ...emptyFeed(), window: feed.window, windowAt: feed.windowAt } : feed;
  const cursor =
    frame.type === "snapshot" ? (resumes ? resumedFrom : frame.head) : Math.max(feed.cursor ?? 0, frame.lastSeq ?? 0);
  return {
    ...withWindow(base, frame.window, receivedAt),
    head: frame.head,
    cursor,
    lastEventAt: latest(base.lastEventAt, frame.events),
    votes: newestFirst(base.votes, frame.events.filter(isVote)),
    others: newestFirst(base.others, frame.events.filter(isAction)),
  };
}

/**
 * Log entries a backfill reads at most: enough to fill the table unless
 * climate reports and rule activity outnumber votes 3 to 1 (a quiet site's
 * table then shows the votes among them).
 */
export const BACKFILL_LIMIT = 200;

/**
 * The snapshot carries the newest 50 log entries, and climate reports,
 * alerts and commands share the log with votes: when that leaves the table
 * short, this is the range of older entries to read
 * (GET …/events?after=&limit=), or null.
 */
export function backfillRange(feed: Feed): { after: number; limit: number } | null {
  if (feed.votes.length >= TABLE_ROWS) return null;
  const oldest = Math.min(...feed.votes.map((e) => e.seq), ...feed.others.map((e) => e.seq));
  if (!Number.isFinite(oldest) || oldest <= 1) return null;
  const after = Math.max(0, oldest - 1 - BACKFILL_LIMIT);
  return { after, limit: oldest - 1 - after };
}

/** Adds older entries read by a backfill; like frames, each seq once, the newest kept. */
export function applyOlder(feed: Feed, events: LogEvent[]): Feed {
  return {
    ...feed,
    votes: newestFirst(feed.votes, events.filter(isVote)),
    others: newestFirst(feed.others, events.filter(isAction)),
  };
}

/**
 * True when what is shown may be out of date: the socket is not live (its
 * keep-alive proves it is), or no window arrived yet. While live, the server
 * pushes every change of the window, aging included, so no clock is needed.
 */
export const isStale = (feed: Feed, live: boolean): boolean => !live || feed.windowAt === null;

const isVote = (event: LogEvent): event is VoteEvent => event.type === "reading" && event.vote !== undefined;

function withWindow(feed: Feed, window: ScoreWindow | null, receivedAt: number): Feed {
  return window !== null && newerWindow(feed.window, window) ? { ...feed, window, windowAt: receivedAt } : feed;
}

const latest = (current: string | null, events: LogEvent[]): string | null =>
  events.reduce((newest, event) => later(newest, event.recordedAt), current);

/** The later of two ISO 8601 instants (null is earliest). */
const later = (a: string | null, b: string | null): string | null =>
  a === null || (b !== null && Date.parse(b) > Date.parse(a)) ? b ?? a : a;

function newestFirst<E extends LogEvent>(current: E[], incoming: E[]): E[] {
  if (incoming.length === 0) return current;
  const bySeq = new Map(current.map((event) => [event.seq, event]));
  for (const event of incoming) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, TABLE_ROWS);
}

/**
 * The VOTES table's order: newest occurredAt first (the Time Stamp column), seq
 * breaking ties. A reading delivered late (a bridge catching up) takes its
 * place in time rather than the top row.
 */
export const tableOrder = (votes: readonly VoteEvent[]): VoteEvent[] =>
  [...votes].sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt) || b.seq - a.seq);
