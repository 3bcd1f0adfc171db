import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourlyResponse, locationResponse } from "../../protocol";
import { freePort } from "../../scripts/lib/free-port";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { parseSimulatorOptions } from "../../simulator/options";
import { launchBrowser, watchPage } from "../support/browser";
import { createParts } from "../support/parts";

/** Runs `npm start`'s script with `env`; these cases all end before anything is built or started. */
const start = (env: Record<string, string>) =>
  spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/start.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });

describe("npm start refuses a bad setup before starting anything", () => {
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it("names the variable of a busy port", async () => {
    const run = start({ PORT: String(busyPort), MQTT_PORT: String(await freePort()), BRIDGE_HTTP_PORT: String(await freePort()) });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`port ${busyPort} (PORT) is already in use`);
  });

  it("names MQTT_PORT when the broker's port is busy", async () => {
    const run = start({ PORT: String(await freePort()), MQTT_PORT: String(busyPort), BRIDGE_HTTP_PORT: String(await freePort()) });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`port ${busyPort} (MQTT_PORT) is already in use`);
  });

  it.each([
    [{ PORT: "http" }, "PORT must be a port number"],
    [{ MQTT_PORT: "70000" }, "MQTT_PORT must be 1–65535"],
    [{ SIMULATE: "maybe" }, "SIMULATE must be true or false"],
    [{ MQTT_URL: "not a url" }, "MQTT_URL must be a URL like mqtt://host:1883"],
    [{ BACKFILL_DAYS: "two weeks" }, "BACKFILL_DAYS must be a whole number of days"],
    [{ BACKFILL_DAYS: "91" }, "BACKFILL_DAYS must be 0–90"],
    [{ DIGEST_AT: "7am" }, 'DIGEST_AT must be "HH:MM" (24-hour clock)'],
    [{ DIGEST_AT: "25:00" }, "DIGEST_AT must be a time from 00:00 to 23:59"],
    [{ DIGEST_AT: "07:10" }, "DIGEST_AT must be on a quarter hour (:00, :15, :30 or :45)"],
  ])("rejects %o with a message naming it", (env, message) => {
    const run = start(env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe("npm start on a new state", () => {
  const parts = createParts();
  afterAll(() => parts.stopAll());

  it("shows every simulated location's score within 30 s, with 14 days of history behind it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "happy-hub-start-"));
    parts.add(async () => rmSync(dir, { recursive: true, force: true }));
    const [port, mqttPort, bridgePort, receiverPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const locations = parseSimulatorOptions({}).locations;

    let output = "";
    const startedAt = Date.now();
    const child = await parts.start(
      Promise.resolve(
        spawn(join(ROOT, "node_modules/.bin/tsx"), ["scripts/start.ts"], {
          cwd: ROOT,
          env: {
            ...process.env,
            PORT: String(port),
            MQTT_PORT: String(mqttPort),
            BRIDGE_HTTP_PORT: String(bridgePort),
            RECEIVER_PORT: String(receiverPort),
            // Past already today in every zone: MTC's digest of yesterday is due as soon as the history is in.
            DIGEST_AT: "00:00",
            STATE_DIR: join(dir, "state"),
            WORKER_STATE_DIR: join(dir, "worker"),
          },
          stdio: ["ignore", "pipe", "pipe"],
        }),
      ),
      stopStart,
    );
    // Each chunk stamped with its time since the start, so a slow run shows which step took the time.
    const record = (d: Buffer) => (output += `[+${Date.now() - startedAt} ms] ${d.toString()}`);
    child.stdout!.on("data", record);
    child.stderr!.on("data", record);

    // Every location's live score, as the API serves it to the dashboard.
    const scores = async () =>
      Promise.all(
        locations.map(async (location) => {
          try {
            const res = await fetch(`${url}/api/v1/locations/${location}`);
            return res.ok ? locationResponse.parse(await res.json()).window.score : null;
          } catch {
            return null; // not listening yet
          }
        }),
      );
    let scored = await scores();
    while (scored.some((s) => s === null) && Date.now() - startedAt < 60_000 && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 250));
      scored = await scores();
    }
    const elapsed = Date.now() - startedAt;
    expect(scored.every((s) => typeof s === "number"), `scores ${JSON.stringify(scored)} after ${elapsed} ms; npm start said:\n${output}`).toBe(true);
    expect(elapsed, output).toBeLessThanOrEqual(30_000);
    console.log(`npm start on a new state: every location scored ${elapsed} ms after the start\n${output}`);

    // The history, through the ingest endpoint (its last hour first, hence the score): a week of hours with votes, and
    // a marker for the next start.
    await expect.poll(() => output, { timeout: 60_000 }).toMatch(/Back-filled \d+ events \(\d+ new\)/);
    const weekAgo = new Date(Date.now() - 7 * 24 * 3_600_000).toISOString();
    for (const location of locations) {
      const res = await fetch(`${url}/api/v1/locations/${location}/hourly?from=${weekAgo}`);
      const hours = hourlyResponse.parse(await res.json()).hours;
      expect(hours.filter((h) => h.votes > 0).length, location).toBeGreaterThanOrEqual(20);
      expect(hours.filter((h) => h.temperature !== null).length, location).toBeGreaterThanOrEqual(7 * 24 - 1);
    }
    expect(JSON.parse(readFileSync(join(dir, "state", "backfill.json"), "utf8"))).toMatchObject({ days: 14 });

    // MTC's daily digest of yesterday (Europe/London) reaches the local receiver once, signed, read from that history.
    const londonDate = (ms: number) => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/London", year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);
    const digests = () => [...output.matchAll(/webhook MTC\.digest-(\d{4}-\d{2}-\d{2})\.local-receiver {2}signature verified {2}(.*)/g)];
    await expect.poll(() => digests().length, { timeout: 30_000 }).toBe(1);
    const [, digestDate, digestText] = digests()[0]!;
    expect([londonDate(startedAt - 86_400_000), londonDate(Date.now() - 86_400_000)]).toContain(digestDate);
    expect(digestText, output).toMatch(/^:bar_chart: \*MTC\* · \d{4}-\d{2}-\d{2}: (\d\.\d\d|no score) over \d+ votes? \(happy \d+, neutral \d+, sad \d+\)/);

    // What a person sees: next to each location's name on the overview (its card, row or list item, whatever the
    // layout), a score with two decimals rather than "—". Temperatures and humidities show one decimal.
    const browser = await parts.start(launchBrowser(), (b) => b.close());
    const page = await browser.newPage();
    const seen = watchPage(page);
    await page.goto(url);
    const shown = () =>
      page.locator("main").evaluate((main, names) => {
        const score = /(^|\s)[01]\.\d\d(\s|$)/;
        return names.map((name) =>
          [...main.querySelectorAll("a")]
            .filter((a) => a.textContent?.trim() === name)
            .some((a) => score.test((a.closest("article, li, tr, section") as HTMLElement | null)?.innerText ?? "")),
        );
      }, locations);
    await expect.poll(shown, { timeout: 15_000 }).toEqual(locations.map(() => true));
    expect(seen.errors).toEqual([]);

    // A new user presses "sad" three times at MTC and sees one signed notification arrive in npm start's console.
    expect(output).toContain(`Webhooks       http://127.0.0.1:${receiverPort}/webhook  (channel local-receiver: MTC's alerts and daily digest, printed here)`);
    const press = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["simulator/press.ts", "sad", "--device", "door-mtc-1", "--mqtt-url", `mqtt://127.0.0.1:${mqttPort}`, "--api-url", url], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(press.status, press.stdout + press.stderr).toBe(0);
    const mine = /webhook MTC\.~alert-\d+\.local-receiver {2}signature verified {2}:rotating_light: \*MTC\* · door-mtc-1: /g;
    await expect.poll(() => output.match(mine)?.length ?? 0, { timeout: 30_000 }).toBe(1);
    expect(output).not.toContain("DOES NOT VERIFY");
  }, 240_000);
});

/** Ctrl-C as a person would: npm start stops its parts (bridge flushing first) and exits 0. */
async function stopStart(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGINT");
  expect(await exited).toBe(0);
}
