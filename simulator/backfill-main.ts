/**
 * `npm run backfill -- [--days 14] [--api-url …]`: posts the simulated
 * devices' history to a running worker. Exit 2: bad options (the message
 * names them); 1: the worker refused or could not be reached.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readCliOrExit } from "../bridge/options-table";
import { parseDevVars } from "../scripts/lib/dev-vars";
import { ROOT } from "../scripts/lib/wrangler-dev";
import { BACKFILL_OPTIONS, backfill, backfillHelp, parseBackfillOptions } from "./backfill";

const devVars = join(ROOT, ".dev.vars");
const fallbackToken = existsSync(devVars) ? parseDevVars(readFileSync(devVars, "utf8")).INGEST_TOKEN : undefined;
const options = readCliOrExit("backfill", BACKFILL_OPTIONS, process.argv.slice(2), backfillHelp, (input) => parseBackfillOptions(input, fallbackToken));

try {
  const r = await backfill(options);
  process.stdout.write(
    `Back-filled ${options.days} days at ${options.locations.join(", ")}: ${r.events} events (${r.accepted} new, ${r.duplicates} already stored) in ${r.requests} requests, ${(r.ms / 1000).toFixed(1)} s.\n`,
  );
} catch (e) {
  process.stderr.write(`backfill: ${(e as Error).message}\n`);
  process.exit(1);
}
