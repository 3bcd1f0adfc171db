import { Hono } from "hono";
import type { AppEnv } from "./env";
import { ApiError, handleError } from "./errors";
import { calendar } from "./routes/calendar";
import { commands } from "./routes/commands";
import { devices } from "./routes/devices";
import { ranking } from "./routes/ranking";
import { fleet } from "./routes/fleet";
import { ingest } from "./routes/ingest";
import { securityHeaders } from "./middleware/security-headers";
import { locations } from "./routes/locations";
import { notifications } from "./routes/notifications";
import { session } from "./routes/session";
import { DOCS_CSP } from "./docs-csp";
import { openApiDocument } from "./openapi";

/** Built on first request: the schemas do not change while an isolate lives. */
let openApi: Record<string, unknown> | undefined;

/** The worker's routes. Static assets (the dashboard) are served before this for every path but /api/*. */
export const app = new Hono<AppEnv>()
  .use(securityHeaders())
  .get("/api/v1/health", (c) => c.json({ ok: true }))
  .get("/api/v1/openapi.json", (c) => c.json((openApi ??= openApiDocument())))
  // The page itself is a static asset (npm run build puts it in dist/dashboard/api-docs); /api/* reaches the worker first.
  .get("/api/docs", async (c) => {
    const page = await c.env.ASSETS.fetch(new Request(new URL("/api-docs/", c.req.url), c.req.raw));
    const res = new Response(page.body, page);
    res.headers.set("content-security-policy", DOCS_CSP);
    return res;
  })
  .route("/api/v1/ingest", ingest)
  .route("/api/v1/locations", locations)
  .route("/api/v1/locations", calendar)
  .route("/api/v1/commands", commands)
  .route("/api/v1/fleet", fleet)
  .route("/api/v1/ranking", ranking)
  .route("/api/v1/session", session)
  .route("/api/v1/devices", devices)
  .route("/api/v1/notifications", notifications)
  .all("/api/*", (c) => {
    throw new ApiError(404, `no route for ${c.req.method} ${c.req.path}`, ["see the API reference in README.md"]);
  })
  // Reached only when the assets binding passes a request on (e.g. in tests).
  .all("*", (c) => c.env.ASSETS.fetch(c.req.raw))
  .onError(handleError);
