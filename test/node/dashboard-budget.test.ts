import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

/** The budget: the JS and CSS a first visit loads, gzipped, under 60 kB. */
const BUDGET_BYTES = 60 * 1000;
const DIST = resolve(import.meta.dirname, "../../dist/dashboard");

/** Every script, module preload and stylesheet index.html pulls in before the app can paint. */
function initialAssets(html: string): string[] {
  const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  return [...new Set(refs)];
}

describe("dashboard bundle", () => {
  it("loads under 60 kB of gzipped JS and CSS on a first visit", () => {
    const html = readFileSync(resolve(DIST, "index.html"), "utf8");
    const assets = initialAssets(html);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
    const sizes = assets.map((asset) => ({ asset, gzip: gzipSync(readFileSync(resolve(DIST, `.${asset}`)), { level: 9 }).length }));
    const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
    const report = sizes.map((s) => `${s.asset} ${(s.gzip / 1000).toFixed(1)} kB`).join(", ");
    expect(total, `initial JS+CSS gzipped: ${(total / 1000).toFixed(1)} kB (${report})`).toBeLessThan(BUDGET_BYTES);
    console.info(`dashboard initial JS+CSS gzipped: ${(total / 1000).toFixed(1)} kB (${report})`);
  });
});
