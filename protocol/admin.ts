import { z } from "zod";
import { locationName } from "./ids";

/** GET /api/v1/health */
export const healthResponse = z.object({ ok: z.literal(true) });
export type HealthResponse = z.infer<typeof healthResponse>;

/**
 * POST /api/v1/locations/{location}/rebuild (202: started, or restarted) and
 * GET …/rebuild (200: progress). Every projection is rebuilt from the log in
 * chunks the object's alarm continues; reads are served from the old
 * projections until the new ones replace them in one transaction.
 */
export const rebuildResponse = z.object({
  location: locationName,
  /** idle: no rebuild ran on this location; running: chunks still to fold; done: the rebuilt projections are in place. */
  state: z.enum(["idle", "running", "done"]),
  /** Log entries replayed so far (done: every entry up to the head at the swap). */
  events: z.number().int().nonnegative(),
  /** The log's head now: the rebuild folds up to it (it grows while events arrive). */
  head: z.number().int().nonnegative(),
  /** Chunks run so far, each at most REBUILD_CHUNK_EVENTS entries, each in its own invocation. */
  chunks: z.number().int().nonnegative(),
  /** SQLite rows the rebuild wrote so far. */
  rowsWritten: z.number().int().nonnegative(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
});
export type RebuildResponse = z.infer<typeof rebuildResponse>;

/** GET /api/v1/locations/{location}/stats: writes since the location's object last started. */
export const statsResponse = z.object({
  location: locationName,
  /** Append calls (one per ingest request touching the location). */
  appends: z.number().int().nonnegative(),
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  /** Every SQLite row the object wrote: log, commits, action projections, checkpoints, its meta rows. */
  rowsWritten: z.number().int().nonnegative(),
  /** Times the reading projections were written back. */
  checkpoints: z.number().int().nonnegative(),
  /** Alarms the object ran. */
  alarms: z.number().int().nonnegative(),
});
export type StatsResponse = z.infer<typeof statsResponse>;
