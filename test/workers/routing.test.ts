import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, expectError, locationPath, parsed } from "./support/api";
import { z } from "zod";

describe("routing", () => {
  it("GET /api/v1/health → {ok:true}", async () => {
    expect(await parsed(await api("/api/v1/health"), z.strictObject({ ok: z.literal(true) }))).toEqual({ ok: true });
  });

  it.each([
    ["GET", "/api/v2/health"],
    ["GET", "/api/v1/nope"],
    ["POST", "/api/v1/health"],
    ["DELETE", "/api/v1/locations/MTC"],
    ["GET", "/api/v1/locations/MTC/nope"],
    ["GET", "/api"],
    ["PUT", "/api/v1/ingest"],
  ])("unknown API route %s %s → 404 JSON", async (method, path) => {
    await expectError(await api(path, { method }), 404, `no route for ${method} ${path}`, ["see the API reference in README.md"]);
  });

  it("GET …/live without an upgrade → 426 with Upgrade: websocket", async () => {
    const res = await api(locationPath("MTC", "/live"));
    expect(res.headers.get("upgrade")).toBe("websocket");
    await expectError(res, 426, "expected a WebSocket upgrade", ["connect with a WebSocket client (Upgrade: websocket)"]);
  });

  it("an invalid location in any route's path → 400 before any object is touched", async () => {
    const bad = [
      ["%2Fetc", "location: location may hold only letters, digits, space, '_', '.', '-', must start with a letter or digit and must not end with a space"],
      ["a%00b", "location: location may hold only letters, digits, space, '_', '.', '-', must start with a letter or digit and must not end with a space"],
      ["L".repeat(65), "location: location must be at most 64 characters"],
    ] as const;
    for (const [segment, issue] of bad) {
      for (const rest of ["", "/hourly", "/events", "/devices", "/live"]) {
        const res = await api(`/api/v1/locations/${segment}${rest}`, { headers: { Upgrade: "websocket" } });
        await expectError(res, 400, "invalid location", [issue.replace(/^location: /, "")]);
      }
    }
  });
});

describe("static dashboard (the ASSETS binding)", () => {
  it("/ serves index.html and an unknown path falls back to it (single-page app)", async () => {
    const root = await env.ASSETS.fetch("https://hub.test/");
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await root.text();
    expect(html).toMatch(/^<!doctype html>/i);
    const deep = await env.ASSETS.fetch("https://hub.test/locations/MTC");
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
  });
});

describe("reading a location nobody wrote to", () => {
  it("answers empty from every read route and creates no storage", async () => {
    const location = "never-written";
    for (const path of ["", "/hourly", "/events", "/devices", "/rules", "/alerts"]) {
      expect((await api(locationPath(location, path))).status).toBe(200);
    }
    const live = await api(locationPath(location, "/live"), { headers: { Upgrade: "websocket" } });
    expect(live.status).toBe(101);
    live.webSocket!.accept();
    live.webSocket!.close(1000);
    const stub = env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
    const tables = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);
  });
});
