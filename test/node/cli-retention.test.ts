import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventsGone, type IngestEventInput } from "../../protocol";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";

/**
 * `happy-hub events` against a worker whose retention dropped the log's
 * start (RETENTION_DAYS = 0.00002, 1.7 s, under `wrangler dev`): a 410 is
 * said on stderr and the CLI reads on from the first seq still held.
 */
const BIN = resolve(import.meta.dirname, "../../bin/happy-hub.mjs");
const LOCATION = "Aged";
let worker: LocalWorker;
let cwd: string;

beforeAll(async () => {
  worker = await startLocalWorker({ vars: { RETENTION_DAYS: "0.00002" } });
  cwd = mkdtempSync(join(tmpdir(), "happy-hub-cli-retention-"));
});
afterAll(async () => {
  await worker?.dispose();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { ADMIN_TOKEN: _a, INGEST_TOKEN: _i, VIEWER_TOKEN: _v, ...rest } = process.env;
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...rest, HAPPY_HUB_URL: worker.url }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr })));
}

let counter = 0;
const batch = (n: number): IngestEventInput[] =>
  Array.from({ length: n }, () => ({ id: `aged-${++counter}`, deviceId: "dev-1", location: LOCATION, occurredAt: new Date().toISOString(), vote: 1 }));

async function ingest(events: IngestEventInput[]): Promise<void> {
  const res = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("happy-hub events after retention", () => {
  it("says what retention dropped and prints what is held", async () => {
    await ingest(batch(5));
    await new Promise((r) => setTimeout(r, 300));
    await ingest(batch(3)); // the newest commit: never dropped
    // The alarm drops the first batch once it is 1.7 s old.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${worker.url}/api/v1/locations/${LOCATION}/events?after=0`);
      if (res.status === 410) {
        expect(eventsGone.parse(await res.json()).firstSeq).toBe(6);
        break;
      }
      await res.arrayBuffer();
      if (Date.now() > deadline) throw new Error("retention did not drop the first batch");
      await new Promise((r) => setTimeout(r, 250));
    }

    const run = await cli(["events", LOCATION]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("happy-hub: events up to seq 5 were dropped by retention; going on from seq 6\n");
    expect(run.stdout.trim().split("\n").map((line) => Number(line.trim().split(/\s+/)[0]))).toEqual([6, 7, 8]);

    const held = await cli(["events", LOCATION, "--after", "6"]);
    expect(held).toMatchObject({ code: 0, stderr: "" });
    expect(held.stdout.trim().split("\n")).toHaveLength(2);
  });
});
