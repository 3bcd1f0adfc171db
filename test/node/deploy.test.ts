import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev";

const outdir = mkdtempSync(join(tmpdir(), "happy-hub-deploy-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("deploy stays possible", () => {
  it("wrangler deploy --dry-run bundles the worker and its Durable Objects", () => {
    const run = spawnSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/--dry-run: exiting now/);
    const bundle = readdirSync(outdir).find((f) => f.endsWith(".js"));
    expect(bundle).toBeDefined();
    const path = join(outdir, bundle!);
    const source = readFileSync(path);
    // The bundle must export every Durable Object class the bindings name (minified: `export{… as LocationStream,…}`).
    for (const name of ["LocationStream", "CommandHub", "Fleet", "DeviceRegistry", "NotificationConfig"]) expect(source.toString()).toMatch(new RegExp(`export\\s*\\{[^}]*\\bas ${name}\\b`));
    const gzipped = gzipSync(source).length;
    console.log(`worker bundle: ${(statSync(path).size / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
    // The budget (docs/BENCHMARKS.md, Sizes): minified, zod's locales left out (wrangler.toml). 128 KiB since the
    // device registry, notifications and the calendar (~113 KiB with them); the platform's limit is 3 MiB.
    expect(gzipped / 1024, "worker bundle gzipped KiB").toBeLessThanOrEqual(128);
    // Only English of zod's locales: a second language's text would mean the [alias] no longer applies.
    expect(source.toString()).toContain("Invalid input");
    expect(source.toString()).not.toContain("Ongeldige invoer"); // Dutch, one of the locales left out
  });

  it("wrangler types is up to date with wrangler.toml and worker/env.ts", () => {
    const run = spawnSync(join(ROOT, "node_modules/.bin/wrangler"), ["types", "--check", "--env-file", "/dev/null"], {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.status, `worker-configuration.d.ts is stale: run \`npm run types\`\n${run.stdout}${run.stderr}`).toBe(0);
  });
});
