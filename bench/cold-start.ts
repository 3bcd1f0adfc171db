/**
 * Cold start of the worker under `wrangler dev`, the figure the bundle-size
 * choices (minify, zod without locales) are meant to improve:
 * - ready: from spawning `wrangler dev` (which runs wrangler.toml's `[build]`
 *   and bundles the worker) to the first 200 from GET /api/v1/health;
 * - first object: the first request to a location never seen (a Durable
 *   Object created, its schema migrated), then the same request again (warm).
 *
 * `--config` runs another wrangler config (e.g. the one before a change, to
 * compare under the same machine load).
 *
 *   npm run bench:cold-start [-- --runs 5 --config wrangler.before.toml]
 */
import { parseArgs } from "node:util";
import { percentile, report } from "./lib/report";
import { startLocalWorker } from "../test/support/local-worker";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "5" }, config: { type: "string" } } });
const runs = Number(args.runs);

async function timed(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return performance.now() - t0;
}

const ready: number[] = [];
const firstObject: number[] = [];
const warm: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const worker = await startLocalWorker(args.config ? { config: args.config } : {});
  ready.push(performance.now() - t0);
  try {
    const url = `${worker.url}/api/v1/locations/cold-${i}`;
    firstObject.push(await timed(url));
    warm.push(await timed(url));
  } finally {
    await worker.dispose();
  }
}

const row = (what: string, values: number[]) => ({
  what,
  runs: values.length,
  "median ms": Math.round(percentile(values, 50)),
  "min ms": Math.round(Math.min(...values)),
  "max ms": Math.round(Math.max(...values)),
});
report(args.config ? `cold-start-${args.config.replace(/\W+/g, "-")}` : "cold-start", [row("wrangler dev ready", ready), row("first request to a new object", firstObject), row("same request again", warm)]);
