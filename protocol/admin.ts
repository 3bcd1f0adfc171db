import { z } from "zod";
import { locationName } from "./ids";

/** GET /api/v1/health */
export const healthResponse = z.object({ ok: z.literal(true) });
export type HealthResponse = z.infer<typeof healthResponse>;

/** POST /api/v1/locations/{location}/rebuild: every projection rebuilt from the log. */
export const rebuildResponse = z.object({
  location: locationName,
  /** Log entries replayed. */
  events: z.number().int().nonnegative(),
  /** SQLite rows the rebuild wrote. */
  rowsWritten: z.number().int().nonnegative(),
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
