import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ackResponse, eventsPage, locationsResponse, rebuildResponse, rulesResponse, settingsResponse, shareResponse, statsResponse, type IngestEventInput, type LogEvent } from "../../protocol";
import { freePort } from "../support/free-port";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";

/**
 * The operator's CLI as installed (`bin/happy-hub.mjs`, the bundled lib/cli.mjs)
 * against the real worker under `wrangler dev`.
 */
const BIN = resolve(import.meta.dirname, "../../bin/happy-hub.mjs");
let worker: LocalWorker;
/** A working directory without .dev.vars (the repo's own must not leak in). */
let cwd: string;

beforeAll(async () => {
  worker = await startLocalWorker();
  cwd = mkdtempSync(join(tmpdir(), "happy-hub-cli-"));
});
afterAll(async () => {
  await worker?.dispose();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const { ADMIN_TOKEN: _a, INGEST_TOKEN: _i, VIEWER_TOKEN: _v, HAPPY_HUB_URL: _u, ...rest } = process.env;
  return { ...rest, HAPPY_HUB_URL: worker.url };
};

function start(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? cwd, env: options.env ?? baseEnv(), stdio: ["pipe", "pipe", "pipe"] });
}

function cli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<Run> {
  const child = start(args, options);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin!.end(options.input ?? "");
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const admin = () => ({ ...baseEnv(), ADMIN_TOKEN: worker.adminToken });

let counter = 0;
const vote = (location: string): IngestEventInput => ({
  id: `cli-${++counter}`,
  deviceId: `dev-${counter % 3}`,
  location,
  occurredAt: new Date().toISOString(),
  vote: ([1, 0.5, 0] as const)[counter % 3],
  temperature: 21.5,
});

async function ingest(events: IngestEventInput[]): Promise<void> {
  const res = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(((await res.json()) as { accepted: number }).accepted).toBe(events.length);
}

describe("happy-hub CLI", () => {
  it("health, then locations: empty, then a table and JSON", async () => {
    expect(await cli(["health"])).toEqual({ code: 0, stdout: "ok\n", stderr: "" });
    expect(await cli(["locations"])).toEqual({ code: 0, stdout: "no locations yet\n", stderr: "" });

    await ingest([vote("MTC"), vote("MTC"), vote("MTC"), vote("Lab 2")]);
    const human = await cli(["locations"]);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^location\s+head\s+last event\s+votes 1h\s+score 1h/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/)[0])).toEqual(expect.arrayContaining(["MTC", "Lab 2"]));

    const json = await cli(["locations", "--json", "--limit", "1"]);
    expect(json.code, json.stderr).toBe(0);
    const body = locationsResponse.parse(JSON.parse(json.stdout));
    expect(body.locations.map((l) => [l.location, l.head]).sort()).toEqual([["Lab 2", 1], ["MTC", 3]]);
  });

  it("events: the log as lines or JSON, from --after, at most --limit", async () => {
    const all = await cli(["events", "MTC", "--json"]);
    expect(all.code, all.stderr).toBe(0);
    const events = eventsPage.shape.events.parse(JSON.parse(all.stdout).events);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);

    const some = await cli(["events", "MTC", "--after", "1", "--limit", "1"]);
    expect(some.code, some.stderr).toBe(0);
    expect(some.stdout.trimEnd().split("\n")).toEqual([expect.stringMatching(/^\s+2\s+\S+Z\s+reading\s+dev-\d\s+vote=[01.5]+ temperature=21.5$/)]);
  });

  it("events --follow tails the live socket and resumes by seq across a worker restart", async () => {
    const child = start(["events", "MTC", "--follow", "--json"]);
    const seen: LogEvent[] = [];
    let stderr = "";
    let buffer = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) seen.push(eventsPage.shape.events.element.parse(JSON.parse(line)));
    });
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      // The tail: the last entries already there. (The default rule may add alert and command entries to the log
      // as votes arrive, so the expectation is the log itself: every seq once, in order.)
      const logSeqs = async () => {
        const res = await fetch(`${worker.url}/api/v1/locations/MTC/events?limit=1000`);
        return eventsPage.parse(await res.json()).events.map((e) => e.seq);
      };
      const before = await logSeqs();
      await expect.poll(() => seen.map((e) => e.seq), { timeout: 15_000 }).toEqual(before.slice(-10));
      await ingest([vote("MTC"), vote("MTC")]);
      const second = await logSeqs();
      await expect.poll(() => seen.map((e) => e.seq), { timeout: 15_000 }).toEqual(second);

      // The socket drops with the worker; what is committed meanwhile arrives after the reconnect, once.
      await worker.stop();
      await worker.restart();
      await ingest([vote("MTC"), vote("MTC"), vote("MTC")]);
      const third = await logSeqs();
      expect(third.length).toBeGreaterThanOrEqual(second.length + 3);
      await expect.poll(() => seen.map((e) => e.seq), { timeout: 30_000, message: `the CLI said: ${stderr}` }).toEqual(third);
      expect(stderr).toMatch(new RegExp(`closed 1006; reconnecting in \\d+ ms after seq ${second.at(-1)}`));
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  });

  it("settings set from stdin, settings get shows them; bad settings send nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "happy-hub-cli-settings-"));
    try {
      writeFileSync(join(dir, ".dev.vars"), `ADMIN_TOKEN=${worker.adminToken}\n`);
      const settings = { timeZone: "America/New_York", openingHours: { mon: [["09:00", "17:00"]] }, displayName: "Paoli store" };
      const set = await cli(["settings", "set", "cli-settings", "--json"], { cwd: dir, input: JSON.stringify(settings) });
      expect(set.code, set.stderr).toBe(0);
      const answer = settingsResponse.parse(JSON.parse(set.stdout));
      expect(answer.settings).toEqual(settings);
      const get = await cli(["settings", "get", "cli-settings"]);
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toContain(`cli-settings: settings set at seq ${answer.seq}`);
      expect(get.stdout).toMatch(/time zone\s+America\/New_York/);
      expect(get.stdout).toMatch(/opening hours\s+mon 09:00-17:00/);

      const bad = await cli(["settings", "set", "cli-settings"], { cwd: dir, input: JSON.stringify({ timeZone: "Mars/Base", openingHours: { mon: [["18:00", "09:00"]] } }) });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("stdin is not valid settings (nothing was sent)");
      expect(bad.stderr).toContain('  - timeZone: unknown time zone "Mars/Base"');
      expect(bad.stderr).toContain("  - openingHours.mon.0: 18:00–09:00 is reversed or empty");
      expect(settingsResponse.parse(JSON.parse((await cli(["settings", "get", "cli-settings", "--json"])).stdout)).seq).toBe(answer.seq);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rules set from a file with the admin token of .dev.vars, rules get shows them; a bad file sends nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "happy-hub-cli-devvars-"));
    try {
      writeFileSync(join(dir, ".dev.vars"), `# local\nADMIN_TOKEN=${worker.adminToken}\n`);
      const file = join(dir, "rules.json");
      writeFileSync(file, JSON.stringify({ rules: [{ id: "too-hot", metric: "temperature", op: "above", threshold: 28, raise: "FAN" }] }));
      const set = await cli(["rules", "set", "MTC", file, "--json"], { cwd: dir });
      expect(set.code, set.stderr).toBe(0);
      const answer = rulesResponse.parse(JSON.parse(set.stdout));
      expect(answer.rules.map((r) => [r.id, r.raise, r.clear])).toEqual([["too-hot", "FAN", "OFF"]]);

      const get = await cli(["rules", "get", "MTC"]);
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toContain(`MTC: rules set at seq ${answer.seq}`);
      expect(get.stdout).toMatch(/too-hot\s+temperature\s+above\s+28\s+1\s+FAN\s+OFF/);

      // From stdin, as a bare array, invalid: listed reasons, exit 1, nothing sent.
      const bad = await cli(["rules", "set", "MTC"], { cwd: dir, input: JSON.stringify([{ id: "Bad Id", metric: "score", op: "below", threshold: 2 }]) });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("stdin is not a valid rule set (nothing was sent)");
      expect(bad.stderr).toContain("  - rules.0.id: rule id may hold only lowercase letters");
      expect(bad.stderr).toContain("  - rules.0.threshold: a score threshold must be between 0 and 1");
      expect(rulesResponse.parse(JSON.parse((await cli(["rules", "get", "MTC", "--json"])).stdout)).seq).toBe(answer.seq);

      // A flag wins over .dev.vars: a wrong token is the API's 401.
      const wrong = await cli(["rules", "set", "MTC", file, "--admin-token", "nope"], { cwd: dir });
      expect(wrong).toMatchObject({ code: 1, stderr: expect.stringContaining("PUT /api/v1/locations/MTC/rules: 401 invalid bearer token") });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rebuild and stats need the admin token and answer per the contract", async () => {
    const without = await cli(["rebuild", "MTC"]);
    expect(without).toMatchObject({ code: 1, stderr: "happy-hub: no admin token\n  - set ADMIN_TOKEN or pass --admin-token (locally, .dev.vars holds it)\n" });

    const rebuild = await cli(["rebuild", "MTC", "--json"], { env: admin() });
    expect(rebuild.code, rebuild.stderr).toBe(0);
    const rebuilt = rebuildResponse.parse(JSON.parse(rebuild.stdout));
    expect(rebuilt.location).toBe("MTC");
    expect(rebuilt.events).toBeGreaterThanOrEqual(9);
    expect((await cli(["rebuild", "MTC"], { env: admin() })).stdout).toMatch(/^MTC: rebuilt from \d+ events \(\d+ rows written\)\n$/);

    const stats = await cli(["stats", "MTC", "--json"], { env: admin() });
    expect(stats.code, stats.stderr).toBe(0);
    expect(statsResponse.parse(JSON.parse(stats.stdout)).location).toBe("MTC");
    expect((await cli(["stats", "MTC"], { env: admin() })).stdout).toMatch(
      /^location\s+MTC\nappends\s+\d+\naccepted\s+\d+\nduplicates\s+\d+\nrows written\s+\d+\ncheckpoints\s+\d+\nalarms\s+\d+\n$/,
    );
  });

  it("devices: set registers, enable/disable switch, list/get/history show, remove removes (admin token); a bad profile is refused before sending", async () => {
    const set = await cli(["devices", "set", "cli-dev-1", "--location", "CLI-Devices", "--name", "Lobby", "--interval", "60", "--tags", "a,b"], { env: admin() });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^device\s+name\s+location\s+enabled\s+interval s\s+refused\s+tags\ncli-dev-1\s+Lobby\s+CLI-Devices\s+yes\s+60\s+0\s+a,b\n$/);
    expect((await cli(["devices", "disable", "cli-dev-1"], { env: admin() })).stdout).toMatch(/cli-dev-1\s+Lobby\s+CLI-Devices\s+no\s+60/);
    // set keeps what it does not name: still disabled, still named.
    const moved = await cli(["devices", "set", "cli-dev-1", "--location", "CLI-Elsewhere", "--json"], { env: admin() });
    expect(JSON.parse(moved.stdout)).toMatchObject({ deviceId: "cli-dev-1", name: "Lobby", location: "CLI-Elsewhere", enabled: false, expectedIntervalSeconds: 60, tags: ["a", "b"] });

    const list = await cli(["devices", "list", "--location", "CLI-Elsewhere", "--json"], { env: admin() });
    expect(JSON.parse(list.stdout).devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(["cli-dev-1"]);
    const history = await cli(["devices", "history", "cli-dev-1"], { env: admin() });
    expect(history.stdout.split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/)[2])).toEqual(["device-registered", "device-disabled", "device-moved"]);

    const bad = await cli(["devices", "set", "cli-dev-2", "--location", "MТС"], { env: admin() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("location mixes scripts");
    const missing = await cli(["devices", "enable", "cli-dev-2"], { env: admin() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cli-dev-2 is not registered");

    expect((await cli(["devices", "remove", "cli-dev-1"], { env: admin() })).stdout).toBe("cli-dev-1: removed\n");
    const gone = await cli(["devices", "get", "cli-dev-1"], { env: admin() });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/GET \/api\/v1\/devices\/cli-dev-1: 404 device "cli-dev-1" is not registered/);
    expect((await cli(["devices", "list"], { env: baseEnv() })).stderr).toContain("no admin token");
  });

  it("share makes a read-only link for one location (admin token); the worker's refusal is shown with its reasons", async () => {
    // This worker has no SHARE_SECRET: the API's 503 says so.
    const unset = await cli(["share", "MTC"], { env: admin() });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/POST \/api\/v1\/locations\/MTC\/share: 503 SHARE_SECRET/);
    expect(await cli(["share", "MTC", "--expires-in", "5"], { env: admin() })).toMatchObject({ code: 2 });

    // Reads private (VIEWER_TOKEN set), so the key is what lets a kiosk read, and only its location.
    const withSecret = await startLocalWorker({ vars: { SHARE_SECRET: "s".repeat(16) + "-cli-share-secret-for-tests", VIEWER_TOKEN: "v".repeat(16) + "-cli-viewer-token-for-tests" } });
    try {
      const made = await cli(["share", "MTC", "--json", "--url", withSecret.url, "--expires-in", "120"], { env: { ...admin(), ADMIN_TOKEN: withSecret.adminToken } });
      expect(made.code, made.stderr).toBe(0);
      const link = shareResponse.parse(JSON.parse(made.stdout));
      expect(link.url).toContain("/locations/MTC?key=");
      const read = await fetch(`${withSecret.url}/api/v1/locations/MTC`, { headers: { authorization: `Bearer ${link.key}` } });
      expect(read.status).toBe(200);
      expect((await fetch(`${withSecret.url}/api/v1/locations/MTC`)).status).toBe(401);
      const other = await fetch(`${withSecret.url}/api/v1/locations/Paoli`, { headers: { authorization: `Bearer ${link.key}` } });
      expect(other.status).toBe(403);
    } finally {
      await withSecret.dispose();
    }
  });

  it("ack acknowledges an alert once with a comment (admin token); again, the worker's 409 is shown", async () => {
    const loc = "CLI ack";
    await ingest([0, 1, 2].map(() => ({ id: `cli-ack-${++counter}`, deviceId: "sad-cli", location: loc, occurredAt: new Date().toISOString(), vote: 0 as const })));
    const alerts = (await (await fetch(`${worker.url}/api/v1/locations/CLI%20ack/alerts`)).json()) as { alerts: { id: string }[] };
    const id = alerts.alerts[0]!.id;
    expect(await cli(["ack", loc, id])).toMatchObject({ code: 1, stderr: expect.stringContaining("no admin token") });

    const done = await cli(["ack", loc, id, "--comment", "on my way", "--json"], { env: admin() });
    expect(done.code, done.stderr).toBe(0);
    expect(ackResponse.parse(JSON.parse(done.stdout))).toMatchObject({ location: loc, alertId: id, acknowledgement: { comment: "on my way" } });
    const again = await cli(["ack", loc, id], { env: admin() });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`409 alert ${id} is already acknowledged`);
    expect(await cli(["ack", loc, "alert-1"], { env: admin() })).toMatchObject({ code: 2, stderr: expect.stringContaining("system entry ids look like ~kind-seq") });
    expect(await cli(["ack", loc, id, "--comment", "x".repeat(501)], { env: admin() })).toMatchObject({ code: 2, stderr: expect.stringContaining("at most 500") });
  });

  it("shows the API's error with its reasons, and a failure to connect, with exit 1", async () => {
    const wrongPrefix = await cli(["health", "--url", `${worker.url}/api`]);
    expect(wrongPrefix).toEqual({
      code: 1,
      stdout: "",
      stderr: "happy-hub: GET /api/v1/health: 404 no route for GET /api/api/v1/health\n  - see the API reference in README.md\n",
    });
    // Not the API at all (the dashboard's page): said so, not parsed.
    const notApi = await cli(["health", "--url", `${worker.url}/elsewhere`]);
    expect(notApi).toMatchObject({ code: 1, stderr: expect.stringMatching(/^happy-hub: GET \/api\/v1\/health: the answer is not JSON \(is .* a happy-hub worker\?\)\n  - 200, content-type text\/html/) });
    const closed = await freePort();
    const nobody = await cli(["health", "--url", `http://127.0.0.1:${closed}`]);
    expect(nobody).toMatchObject({ code: 1, stderr: `happy-hub: cannot reach http://127.0.0.1:${closed}\n  - ECONNREFUSED\n` });
  });

  it("usage: --help on every command (0); a missing or bad argument, an unknown command or flag (2)", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["health", "locations", "events", "rules", "rebuild", "stats", "ack"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
      const own = await cli([command, "--help"]);
      expect(own.code, command).toBe(0);
      expect(own.stdout, command).toMatch(new RegExp(`^Usage: happy-hub ${command}`));
    }
    const usage: [string[], string][] = [
      [[], "Usage: happy-hub <command>"],
      [["nope"], 'unknown command "nope"'],
      [["events"], "missing <location>"],
      [["events", "a/b"], '<location> "a/b": location may hold only'],
      [["events", "MTC", "--limit", "0"], "--limit must be an integer from 1"],
      [["events", "MTC", "--follow", "--limit", "5"], "--limit does not go with --follow"],
      [["stats", "MTC", "extra"], 'unexpected argument "extra"'],
      [["ack", "MTC"], "missing <alert-id>"],
      [["rules", "drop", "MTC"], 'unknown rules action "drop"'],
      [["locations", "--bogus"], "Unknown option '--bogus'"],
      [["health", "--url", "ftp://x"], "must be an http(s) URL"],
    ];
    for (const [args, message] of usage) {
      const run = await cli(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stdout + run.stderr, args.join(" ")).toContain(message);
    }
  });
});
