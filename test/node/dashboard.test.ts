import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locationResponse, type IngestEventInput } from "../../protocol";
import { formatScore } from "../../dashboard/src/lib/format";
import { launchBrowser, watchPage } from "../support/browser";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";

/**
 * The built dashboard in Debian's Chromium against the real worker under
 * `wrangler dev`: real HTTP, real live sockets, a real restart.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const ARTIFACTS = resolve(ROOT, "test-results");
const BUILT = resolve(ROOT, "dist/dashboard/index.html");
// A zone half an hour off UTC: a time stamp that was not converted cannot pass for one that was.
const TIME_ZONE = "Asia/Kolkata";

let worker: LocalWorker & { dispose(): Promise<void> };
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  if (!existsSync(BUILT) || !readFileSync(BUILT, "utf8").includes("<script")) {
    throw new Error("dist/dashboard is not built: run `npm run build` (npm test does it first)");
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  [worker, browser] = await Promise.all([startLocalWorker(), launchBrowser()]);
  context = await browser.newContext({ viewport: { width: 1440, height: 960 }, timezoneId: TIME_ZONE, locale: "en-US" });
});

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
});

let counter = 0;
function vote(location: string, overrides: Partial<IngestEventInput> = {}): IngestEventInput {
  counter++;
  return {
    id: `t-${location}-${counter}`,
    deviceId: `dev-${counter % 3}`,
    location,
    occurredAt: new Date().toISOString(),
    vote: ([1, 0.5, 0] as const)[counter % 3],
    temperature: 20 + (counter % 5),
    humidity: 40 + (counter % 7),
    ...overrides,
  };
}

async function ingest(events: IngestEventInput[]): Promise<void> {
  const response = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  const body = (await response.json()) as { accepted: number; duplicates: number; rejected: unknown[] };
  expect(response.status, JSON.stringify(body)).toBe(200);
  expect(body.rejected).toEqual([]);
}

/** A day of votes from four devices at `location`, as a room would produce them. */
function aDayOf(location: string, now: number): IngestEventInput[] {
  const devices = ["arduino1010", "esp32-lobby", "esp32-kitchen", "pi-door"];
  const events: IngestEventInput[] = [];
  for (let hour = 23; hour >= 0; hour--) {
    for (let k = 5; k >= 0; k--) {
      const mood = 0.55 + 0.35 * Math.sin(hour / 4);
      const r = ((hour * 7 + k * 13) % 10) / 10;
      events.push({
        id: `day-${location}-${hour}-${k}`,
        deviceId: devices[(hour + k) % devices.length]!,
        location,
        occurredAt: new Date(now - hour * 3_600_000 - k * 9 * 60_000 - 30_000).toISOString(),
        vote: r < mood - 0.2 ? 1 : r < mood + 0.25 ? 0.5 : 0,
        temperature: Math.round((21 + 2.2 * Math.sin(hour / 5) + k * 0.1) * 10) / 10,
        humidity: Math.round((38 + 6 * Math.cos(hour / 6)) * 10) / 10,
      });
    }
  }
  // One unhappy device in the last half hour: the default rule (score < 0.7 over 3 votes) raises an alert.
  for (let k = 3; k >= 1; k--) {
    events.push({ id: `day-${location}-sad-${k}`, deviceId: "pi-door", location, occurredAt: new Date(now - k * 7 * 60_000).toISOString(), vote: 0, temperature: 22.4, humidity: 43.5 });
  }
  return events;
}

async function openLocation(location: string, page?: Page): Promise<Page> {
  const target = page ?? (await context.newPage());
  await target.goto(`${worker.url}/locations/${encodeURIComponent(location)}`);
  await target.locator("h1", { hasText: location }).waitFor();
  await target.locator('.page-head [data-connection="live"]').waitFor({ timeout: 10_000 });
  return target;
}

const rowIds = (page: Page): Promise<string[]> =>
  page.$$eval("tbody tr[data-event-id]", (rows) => rows.map((r) => r.getAttribute("data-event-id")!));

type SeenFrame = { type: string; head: number; seqs: number[] };

/** Every live socket the page opens, with the seqs of the frames it received. */
function watchSockets(page: Page): { url: string; frames: SeenFrame[] }[] {
  const sockets: { url: string; frames: SeenFrame[] }[] = [];
  page.on("websocket", (ws) => {
    const entry = { url: ws.url(), frames: [] as SeenFrame[] };
    sockets.push(entry);
    ws.on("framereceived", ({ payload }) => {
      if (typeof payload !== "string" || payload === "pong") return;
      const frame = JSON.parse(payload) as { type: string; head: number; events?: { seq: number }[]; recent?: { seq: number }[] };
      entry.frames.push({ type: frame.type, head: frame.head, seqs: (frame.events ?? frame.recent ?? []).map((e) => e.seq) });
    });
  });
  return sockets;
}

const figure = (page: Page, name: string) => page.locator(`.score [data-figure="${name}"]`);

async function serverWindow(location: string) {
  const response = await fetch(`${worker.url}/api/v1/locations/${encodeURIComponent(location)}`);
  return locationResponse.parse(await response.json()).window;
}

describe("dashboard in Chromium against the local worker", () => {
  it("loads the overview and a location page with its card, table, chart and landmarks", async () => {
    const now = Date.now();
    await ingest(aDayOf("MTC", now));
    await ingest([vote("Malvern"), vote("Malvern"), vote("Paoli")]);

    const page = await context.newPage();
    const seen = watchPage(page);
    await page.goto(worker.url);
    await page.locator('.fleet-head [data-connection="live"]').waitFor({ timeout: 10_000 });
    for (const location of ["MTC", "Malvern", "Paoli"]) await page.locator(`article[data-location="${location}"]`).waitFor();
    expect(await page.locator('article[data-location="MTC"] [data-alerts]').textContent()).toMatch(/1 active alert$/);
    const window = await serverWindow("MTC");
    await expect.poll(() => page.locator('article[data-location="MTC"] [data-figure="score"]').textContent()).toBe(formatScore(window.score));
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-overview.png` });

    // The card's link: the ranking below the cards links MTC too.
    await page.getByRole("link", { name: "MTC" }).first().click();
    await page.waitForURL(/\/locations\/MTC$/);
    await page.locator('.page-head [data-connection="live"]').waitFor();
    // The newest 50 log entries include the rule's alert and command: the table fills up from older entries.
    await expect.poll(() => rowIds(page).then((ids) => ids.length)).toBe(50);
    expect(await page.locator('.alerts li[data-type="alert-raised"]').textContent()).toMatch(/Alert raised.*pi-door: score 0\.00, below 0\.70/);
    expect(await page.locator('.alerts li[data-type="command-issued"]').textContent()).toMatch(/Command sent.*"ON" to pi-door/);
    expect(await figure(page, "votes").textContent()).toBe(String(window.votes));
    expect(await figure(page, "score").getAttribute("aria-live")).toBe("polite");
    expect(await page.locator(".votes thead th[scope=col]").allTextContents()).toEqual(["Time Stamp", "Device", "Vote", "Humidity", "Temperature"]);
    for (const role of ["banner", "main", "contentinfo", "navigation"] as const) expect(await page.getByRole(role).count(), role).toBe(1);
    await page.reload(); // a fresh load: the first Tab reaches the skip link
    await page.locator('.page-head [data-connection="live"]').waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await page.locator('[data-panel="score"] rect').first().waitFor();
    expect(await page.locator('[data-panel="score"] rect').count()).toBeGreaterThanOrEqual(20);
    expect(await page.locator('[data-panel="temperature"] path').count()).toBeGreaterThan(0);
    await page.waitForTimeout(300); // let the row highlight settle for the picture
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-location-light.png`, fullPage: true });
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it("the overview watches the whole fleet over one socket and shows a change at any location within 1 s", async () => {
    const names = ["Fleet 東京", "Fleet Zürich", ...Array.from({ length: 20 }, (_, i) => `Fleet ${String(i).padStart(2, "0")}`)];
    // Event ids are ASCII (the id alphabet); location names need not be.
    const ascii = (location: string) => ({ id: `fleet-${Date.now()}-${counter++}`, location });
    await ingest(names.map((location) => vote(location, { ...ascii(location), vote: 1 })));
    const page = await context.newPage();
    const seen = watchPage(page);
    const sockets = watchSockets(page);
    await page.goto(worker.url);
    await page.locator('.fleet-head [data-connection="live"]').waitFor({ timeout: 10_000 });
    for (const location of names) await page.locator(`article[data-location="${location}"]`).waitFor();

    for (const location of ["Fleet 東京", "Fleet 13", "Fleet Zürich"]) {
      const card = page.locator(`article[data-location="${location}"]`);
      const votes = Number(await card.locator('[data-figure="votes"]').textContent());
      await ingest([vote(location, { ...ascii(location), vote: 0 })]);
      const acknowledged = Date.now();
      await expect.poll(() => card.locator('[data-figure="votes"]').textContent(), { timeout: 1_000, interval: 20 }).toBe(String(votes + 1));
      const shownAfter = Date.now() - acknowledged;
      expect(shownAfter).toBeLessThan(1_000);
      expect(await card.locator('[data-figure="score"]').textContent()).toBe(formatScore((await serverWindow(location)).score));
      console.info(`overview: ${location} changed on screen ${shownAfter} ms after the ingest answered`);
    }
    // A location that did not exist when the page loaded appears too.
    await ingest([vote("Fleet new", ascii("Fleet new"))]);
    await page.locator('article[data-location="Fleet new"]').waitFor({ timeout: 1_000 });

    expect(sockets.map((s) => new URL(s.url).pathname)).toEqual(["/api/v1/fleet/live"]);
    expect(sockets[0]!.frames.map((f) => f.type)).toContain("changes");
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it("shows an ingested event in the table and on the card within 1 s, at the time it occurred", async () => {
    await ingest([vote("Malvern")]);
    const page = await openLocation("Malvern");
    const seen = watchPage(page);
    const before = Number(await figure(page, "votes").textContent());

    // Occurred 2 min 17 s before it is sent: the row must show that instant, in the viewer's zone.
    const event = vote("Malvern", { vote: 0, occurredAt: new Date(Date.now() - 137_000).toISOString() });
    await ingest([event]);
    const acknowledged = Date.now();
    const row = page.locator(`tbody tr[data-event-id="${event.id}"]`);
    await row.waitFor({ timeout: 1_000 });
    const window = await serverWindow("Malvern");
    await expect.poll(() => figure(page, "votes").textContent(), { timeout: 1_000 - (Date.now() - acknowledged) }).toBe(String(before + 1));
    expect(await figure(page, "score").textContent()).toBe(formatScore(window.score));
    expect(Date.now() - acknowledged).toBeLessThan(1_000);

    const expected = new Intl.DateTimeFormat("en-US", { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: TIME_ZONE }).format(
      new Date(event.occurredAt as string),
    );
    expect(await row.locator("time").getAttribute("datetime")).toBe(event.occurredAt);
    expect(await row.locator("time").textContent()).toContain(expected);
    expect(await row.locator("td").nth(1).textContent()).toBe(event.deviceId);
    expect(await row.locator("td").nth(2).textContent()).toMatch(/sad\s*0/);
    const ids = await rowIds(page);
    expect(ids).toContain(event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it("reconnects after the server restarts mid-stream and shows every event exactly once", async () => {
    const location = "Paoli-restart";
    const page = await context.newPage();
    const seen = watchPage(page);
    const sockets = watchSockets(page);
    await openLocation(location, page);
    const sent: string[] = [];

    // A sender like the bridge: each event is retried until the worker acknowledged it (duplicates are harmless).
    let acknowledged = 0;
    const stream = (async () => {
      for (let i = 0; i < 40; i++) {
        const event = vote(location);
        sent.push(event.id);
        for (;;) {
          try {
            await ingest([event]);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 150));
          }
        }
        acknowledged++;
        await new Promise((r) => setTimeout(r, 60));
      }
    })();

    await expect.poll(() => acknowledged, { timeout: 20_000 }).toBeGreaterThanOrEqual(12);
    const dropped = page.locator('.page-head [data-connection="reconnecting"], .page-head [data-connection="offline"]').waitFor({ timeout: 20_000 });
    await worker.restart();
    await dropped;
    await stream;
    await page.locator('.page-head [data-connection="live"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => rowIds(page).then((ids) => ids.length), { timeout: 10_000 }).toBe(sent.length);

    const ids = await rowIds(page);
    expect([...ids].sort()).toEqual([...sent].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(await figure(page, "votes").textContent()).toBe(String((await serverWindow(location)).votes));

    // The first socket opened fresh; every later one resumed from the newest seq the first had delivered.
    expect(sockets[0]!.url).not.toContain("since=");
    const lastSeen = Math.max(...sockets[0]!.frames.flatMap((f) => f.seqs));
    const retries = sockets.slice(1);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    for (const retry of retries) expect(retry.url).toMatch(new RegExp(`\\?since=${lastSeen}$`));
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-after-restart.png` });
    // While the server was down the browser reported refused connections (socket and fetch); nothing else may fail.
    expect(seen.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    await page.close();
  });

  it("skips frames and event kinds it cannot read, logs them, and stays live", async () => {
    const location = "Lab";
    await ingest([vote(location)]);
    const page = await context.newPage();
    const seen = watchPage(page);
    let toPage: (message: string) => void = () => {
      throw new Error("no socket yet");
    };
    await page.routeWebSocket(/\/live/, (ws) => {
      ws.connectToServer(); // both directions forwarded as they are
      toPage = (message) => ws.send(message);
    });
    await openLocation(location, page);
    const before = await rowIds(page);
    const { window } = await (await fetch(`${worker.url}/api/v1/locations/${location}`)).json() as { window: unknown };
    const at = new Date().toISOString();

    toPage("{ not json");
    toPage(
      JSON.stringify({
        type: "events",
        location,
        head: 1,
        window,
        events: [
          { seq: 1, id: "from-the-future", type: "firmware-updated", occurredAt: at, recordedAt: at, deviceId: "dev-x" },
          { seq: 1, id: "bad-vote", type: "reading", occurredAt: at, recordedAt: at, deviceId: "dev-x", vote: 0.7 },
        ],
      }),
    );
    const event = vote(location);
    await ingest([event]);
    await page.locator(`tbody tr[data-event-id="${event.id}"]`).waitFor({ timeout: 2_000 });

    expect(await rowIds(page)).toEqual([event.id, ...before]);
    expect(await page.locator('[data-event-id="from-the-future"], [data-event-id="bad-vote"]').count()).toBe(0);
    expect(await page.locator('.page-head [data-connection="live"]').count()).toBe(1);
    expect(seen.errors).toEqual([]);
    expect(seen.warnings.some((w) => w.includes("ignored a frame: frame is not JSON"))).toBe(true);
    expect(seen.warnings.some((w) => w.includes("skipped events: event 1: vote"))).toBe(true);
    expect(seen.warnings.some((w) => w.includes("firmware-updated"))).toBe(false); // a newer kind is skipped quietly
    await page.close();
  });

  it("remembers the °C/°F choice and downloads the hourly history as CSV", async () => {
    const location = "Units";
    await ingest([vote(location, { temperature: 25, humidity: 50 }), vote(location, { temperature: 27, humidity: 52 })]);
    const page = await openLocation(location);
    await expect.poll(() => figure(page, "temperature").textContent()).toBe("26.0 °C");

    await page.getByRole("button", { name: "Fahrenheit" }).click();
    expect(await figure(page, "temperature").textContent()).toBe("78.8 °F");
    await page.reload();
    await page.locator('.page-head [data-connection="live"]').waitFor();
    await expect.poll(() => figure(page, "temperature").textContent()).toBe("78.8 °F");
    expect(await page.getByRole("button", { name: "Fahrenheit" }).getAttribute("aria-pressed")).toBe("true");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
    expect(download.suggestedFilename()).toMatch(/^happy-hub-Units-hourly-\d{4}-\d{2}-\d{2}T\d{2}h\.csv$/);
    const lines = readFileSync(await download.path(), "utf8").trimEnd().split("\r\n");
    expect(lines[0]).toBe("hour_utc,votes,score,devices,temperature_f,humidity_pct");
    expect(lines).toHaveLength(25);
    const current = lines.at(-1)!.split(",");
    expect(current.slice(1, 2)).toEqual(["2"]);
    expect(Number(current[4])).toBeCloseTo(78.8, 6);
    expect(Number(current[5])).toBe(51);

    await page.getByRole("button", { name: "Celsius" }).click(); // leave the shared context as it was
    await page.close();
  });

  it("keeps the page still as rows arrive", async () => {
    const location = "Steady";
    await ingest([vote(location), vote(location)]);
    // One column and a tall window: everything below the table is on screen, so a shift would count.
    const tall = await browser.newContext({ viewport: { width: 820, height: 2400 }, timezoneId: TIME_ZONE, locale: "en-US" });
    const page = await tall.newPage();
    // Layout shifts of anything but the table's rows (new rows push older ones down inside their scroll box, by design).
    await page.addInitScript(() => {
      const shifts: string[] = [];
      (window as unknown as { shifts: string[] }).shifts = shifts;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as unknown as { value: number; sources: { node?: Node }[] }[]) {
          for (const source of entry.sources) {
            const element = source.node instanceof Element ? source.node : source.node?.parentElement;
            if (!element?.closest("tbody")) shifts.push(`${element?.outerHTML.slice(0, 80) ?? "?"} (${entry.value.toFixed(4)})`);
          }
        }
      }).observe({ type: "layout-shift", buffered: false });
    });
    await openLocation(location, page);
    await page.locator('[data-panel="score"] rect').first().waitFor();
    await page.waitForTimeout(1_200);
    await page.evaluate(() => ((window as unknown as { shifts: string[] }).shifts.length = 0));
    const arriving = [vote(location), vote(location, { deviceId: "a-much-longer-device-name-than-before" }), vote(location), vote(location)];
    for (const event of arriving) {
      await ingest([event]);
      await page.locator(`tbody tr[data-event-id="${event.id}"]`).waitFor({ timeout: 2_000 });
    }
    await page.waitForTimeout(3_500); // the chart re-reads the current hour after new events
    expect(await page.evaluate(() => (window as unknown as { shifts: string[] }).shifts)).toEqual([]);
    await tall.close();
  });

  it("fits a phone and follows the system's dark mode", async () => {
    const location = "Evening";
    await ingest(aDayOf(location, Date.now()));
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      colorScheme: "dark",
      timezoneId: TIME_ZONE,
      locale: "en-US",
    });
    const small = await openLocation(location, await phone.newPage());
    await small.locator('[data-panel="score"] rect').first().waitFor();
    expect(await small.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    const background = await small.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe("rgb(15, 18, 22)"); // the dark palette's --bg
    await small.screenshot({ path: `${ARTIFACTS}/dashboard-phone-dark.png`, fullPage: true });
    await phone.close();

    const wide = await browser.newContext({ viewport: { width: 1440, height: 960 }, colorScheme: "dark", timezoneId: TIME_ZONE, locale: "en-US" });
    const dark = await openLocation(location, await wide.newPage());
    await dark.locator('[data-panel="score"] rect').first().waitFor();
    await dark.screenshot({ path: `${ARTIFACTS}/dashboard-location-dark.png` });
    await wide.close();
  });
});
