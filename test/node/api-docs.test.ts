import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCS_CSP } from "../../worker/docs-csp";
import { launchBrowser, watchPage } from "../support/browser";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";

/** /api/docs in Debian's Chromium against the real worker under `wrangler dev`, under its strict CSP. */
let worker: LocalWorker;
let browser: Browser;

beforeAll(async () => {
  [worker, browser] = await Promise.all([startLocalWorker(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
});

describe("/api/docs", () => {
  it("shows every operation of the document under a CSP without inline script, and tries a request", async () => {
    const doc = (await (await fetch(`${worker.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);

    const page = await browser.newPage();
    const seen = watchPage(page);
    const loaded: string[] = [];
    page.on("request", (r) => loaded.push(r.url()));
    const res = await page.goto(`${worker.url}/api/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toBe(DOCS_CSP);
    await page.locator(".opblock").nth(operations - 1).waitFor({ timeout: 30_000 });
    expect(await page.locator(".opblock").count()).toBe(operations);
    expect(await page.locator(".opblock-summary-path").allInnerTexts()).toEqual(expect.arrayContaining(["/api/v1/locations/{location}/events", "/api/v1/ingest"]));

    // Try GET /api/v1/health from the page.
    const health = page.locator(".opblock", { has: page.locator(".opblock-summary-path", { hasText: /^\/api\/v1\/health$/ }) });
    await health.locator(".opblock-summary").click();
    await health.getByRole("button", { name: "Try it out" }).click();
    await health.getByRole("button", { name: "Execute" }).click();
    await expect.poll(() => health.locator(".response .response-col_status").first().innerText(), { timeout: 10_000 }).toContain("200");

    // Nothing from another origin, no CSP violation, no error.
    expect(loaded.filter((u) => !u.startsWith(worker.url) && !u.startsWith("data:"))).toEqual([]);
    expect(seen.errors).toEqual([]);
    await page.close();
  });
});
