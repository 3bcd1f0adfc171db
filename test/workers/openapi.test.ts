import { describe, expect, it } from "vitest";
import { z } from "zod";
import { app } from "../../worker/app";
import { api } from "./support/api";
import { document, undocumented } from "./support/openapi-check";

/** Hono's `:param` as OpenAPI's `{param}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
/** Catch-alls (404 for unknown /api paths, the assets fallback) and middleware are not operations. */
const isOperation = (route: { method: string; path: string }) => route.method !== "ALL" && !route.path.includes("*");

describe("GET /api/v1/openapi.json", () => {
  it("serves an OpenAPI 3.1 document", async () => {
    const res = await api("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const body: unknown = await res.json();
    z.object({ openapi: z.literal("3.1.0"), paths: z.record(z.string(), z.record(z.string(), z.unknown())) }).parse(body);
    expect(body).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it("documents every route of the app, and nothing else", () => {
    const routes = new Set(app.routes.filter(isOperation).map((r) => `${r.method} ${openApiPath(r.path)}`));
    const documented = new Set(Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect(routes.size).toBeGreaterThanOrEqual(15);
    expect([...routes].filter((r) => !documented.has(r)), "routes missing from worker/openapi-routes.ts").toEqual([]);
    expect([...documented].filter((r) => !routes.has(r)), "documented routes the app lacks").toEqual([]);
  });

  it("gives every operation its auth, its errors and a schema for each JSON answer", () => {
    for (const [path, ops] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(ops) as [string, { security: unknown[]; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }][]) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(Array.isArray(op.security), where).toBe(true);
        if (op.security.length > 0) expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(["401", "503"]));
        if (path.includes("{")) expect(Object.keys(op.responses), where).toContain("400");
        for (const [status, response] of Object.entries(op.responses)) {
          const json = response.content?.["application/json"];
          if (json) expect(json.schema, `${where} ${status}`).toBeDefined();
        }
      }
    }
  });

  it("the check the contract tests run refuses an answer the document does not describe", () => {
    // The contract tests pass every JSON answer through `undocumented`; here it must be able to fail.
    expect(undocumented("GET", "/api/v1/health", 200, { ok: true })).toEqual([]);
    expect(undocumented("GET", "/api/v1/health", 200, { ok: "yes" })).not.toEqual([]);
    expect(undocumented("GET", "/api/v1/locations/MTC/events", 200, { events: [{ seq: 0 }], next: null })).not.toEqual([]);
    expect(undocumented("GET", "/api/v1/locations/MTC", 418, {})).toEqual([expect.stringMatching(/answered 418/)]);
    expect(undocumented("DELETE", "/api/v1/locations/MTC", 200, {})).toEqual([expect.stringMatching(/not in the document/)]);
    expect(undocumented("DELETE", "/api/v1/locations/MTC", 404, { error: "no route", issues: [] })).toEqual([]);
    expect(undocumented("DELETE", "/api/v1/locations/MTC", 404, { error: "no route" })).not.toEqual([]);
  });
});
