import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locationResponse, type IngestEventInput } from "../../protocol";
import { formatTemperature } from "../../dashboard/src/lib/format";
import { launchBrowser, watchPage } from "../support/browser";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";

/** The VOTES table in Chromium against the worker under `wrangler dev`: votes are rows, climate reports are not. */
const BUILT = resolve(import.meta.dirname, "../../dist/dashboard/index.html");
const LOCATION = "Votes Only";

let worker: LocalWorker;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(BUILT) || !readFileSync(BUILT, "utf8").includes("<script")) {
    throw new Error("dist/dashboard is not built: run `npm run build:dashboard` (npm test does it first)");
  }
  [worker, browser] = await Promise.all([startLocalWorker(), launchBrowser()]);
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const vote = (id: string, at: string, v: 0 | 0.5 | 1): IngestEventInput => ({ id, deviceId: "kiosk-1", location: LOCATION, occurredAt: at, vote: v, temperature: 21, humidity: 40 });
const climate = (id: string, at: string): IngestEventInput => ({ id, deviceId: "kiosk-1", location: LOCATION, occurredAt: at, temperature: 27, humidity: 60 });

async function ingest(events: IngestEventInput[]): Promise<void> {
  const res = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { accepted: number }).accepted).toBe(events.length);
}

describe("the VOTES table lists votes only", () => {
  it("leaves climate reports out, from the first load and live, while the climate figures count them", async () => {
    await ingest([vote("v-1", minutesAgo(4), 1), climate("c-1", minutesAgo(3)), vote("v-2", minutesAgo(2), 0)]);
    const page = await browser.newPage({ locale: "en-US" });
    const seen = watchPage(page);
    await page.goto(`${worker.url}/locations/${encodeURIComponent(LOCATION)}`);
    await page.locator('.page-head [data-connection="live"]').waitFor({ timeout: 10_000 });
    const rowIds = () => page.$$eval("tbody tr[data-event-id]", (rows) => rows.map((r) => r.getAttribute("data-event-id")!));
    await expect.poll(rowIds).toEqual(["v-2", "v-1"]);

    // Live: a climate report, then a vote; once the vote's row is there the report has been applied too.
    await ingest([climate("c-2", minutesAgo(1))]);
    await ingest([vote("v-3", minutesAgo(0.5), 0.5)]);
    await expect.poll(rowIds).toEqual(["v-3", "v-2", "v-1"]);
    const voteCells = await page.locator("tbody td.vote").allTextContents();
    expect(voteCells.every((text) => !text.includes("—"))).toBe(true);
    expect(await page.getByRole("region", { name: /Votes, newest first/ }).locator("tbody tr").count()).toBe(3);

    // The reports are not lost: the window's climate (the card, the chart) averages them with the votes' readings.
    const { window } = locationResponse.parse(await (await fetch(`${worker.url}/api/v1/locations/${encodeURIComponent(LOCATION)}`)).json());
    expect(window.votes).toBe(3);
    expect(window.temperature).toBeCloseTo((21 * 3 + 27 * 2) / 5, 6);
    await expect.poll(() => page.locator('.score [data-figure="temperature"]').first().textContent()).toBe(formatTemperature(window.temperature, "C"));
    expect(seen.errors).toEqual([]);
  }, 60_000);
});
