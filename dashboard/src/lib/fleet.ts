import { z } from "zod";
import { fleetChangesFrame, fleetSnapshotFrame, fleetSummary, supersedes, type FleetSummary } from "../../../protocol/fleet";
import { formatIssues } from "../../../protocol/issues";
import { PONG } from "../../../protocol/live";
import type { FrameResult } from "./frames";

/** A fleet frame as the overview uses it: the summaries it could read. */
export type FleetFrameRead =
  | { type: "snapshot"; part: number; parts: number; locations: FleetSummary[] }
  | { type: "changes"; locations: FleetSummary[] };

/** The fleet frames with their summaries left unparsed: one unreadable summary costs that location, not the frame. */
const envelope = z.discriminatedUnion("type", [
  fleetSnapshotFrame.extend({ locations: z.array(z.unknown()) }),
  fleetChangesFrame.extend({ locations: z.array(z.unknown()) }),
]);

/** Reads one message of the fleet socket; a summary that breaks the contract is skipped and reported. */
export function readFleetFrame(data: unknown): FrameResult<FleetFrameRead> {
  if (data === PONG) return { kind: "pong" };
  if (typeof data !== "string") return { kind: "invalid", problems: ["frame is not text"] };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { kind: "invalid", problems: [`frame is not JSON: ${data.slice(0, 80)}`] };
  }
  const parsed = envelope.safeParse(json);
  if (!parsed.success) return { kind: "invalid", problems: formatIssues(parsed.error) };
  const problems: string[] = [];
  const locations: FleetSummary[] = [];
  parsed.data.locations.forEach((candidate, index) => {
    const summary = fleetSummary.safeParse(candidate);
    if (summary.success) locations.push(summary.data);
    else problems.push(...formatIssues(summary.error).map((issue) => `location ${index}: ${issue}`));
  });
  return { kind: "frame", frame: { ...parsed.data, locations }, problems };
}

/** What the overview knows of the fleet; replaced, never mutated. */
export interface FleetView {
  /** Every location shown, by name. null until the first snapshot is complete. */
  shown: ReadonlyMap<string, FleetSummary> | null;
  /** A snapshot being received in parts: shown once its last part has arrived. */
  incoming: ReadonlyMap<string, FleetSummary> | null;
}

export const emptyFleet = (): FleetView => ({ shown: null, incoming: null });

function merge(into: ReadonlyMap<string, FleetSummary>, summaries: readonly FleetSummary[]): Map<string, FleetSummary> {
  const next = new Map(into);
  for (const s of summaries) if (supersedes(next.get(s.location), s)) next.set(s.location, s);
  return next;
}

/**
 * Applies one fleet frame. A snapshot's first part starts a fresh view and
 * its last part replaces what is shown (so a reconnect drops nothing it
 * should keep and keeps nothing stale); changes update both. Each location
 * keeps its newest summary, so a change that repeats the snapshot is harmless.
 */
export function applyFleetFrame(view: FleetView, frame: FleetFrameRead): FleetView {
  if (frame.type === "changes") {
    return {
      shown: view.shown && merge(view.shown, frame.locations),
      incoming: view.incoming && merge(view.incoming, frame.locations),
    };
  }
  const incoming = merge(frame.part === 1 || !view.incoming ? new Map() : view.incoming, frame.locations);
  return frame.part === frame.parts ? { shown: incoming, incoming: null } : { shown: view.shown, incoming };
}

/** Code point order, as the server lists locations (a plain `<` compares UTF-16 units). */
export function byName(a: FleetSummary, b: FleetSummary): number {
  const [x, y] = [a.location, b.location];
  for (let i = 0, j = 0; i < x.length && j < y.length; ) {
    const [cx, cy] = [x.codePointAt(i)!, y.codePointAt(j)!];
    if (cx !== cy) return cx - cy;
    i += cx > 0xffff ? 2 : 1;
    j += cy > 0xffff ? 2 : 1;
  }
  return x.length - y.length;
}
