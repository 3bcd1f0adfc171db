import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port";
import { ROOT } from "../../scripts/lib/wrangler-dev";

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
  ])("rejects %o with a message naming it", (env, message) => {
    const run = start(env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
