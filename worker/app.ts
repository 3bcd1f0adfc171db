import { Hono } from "hono";
import type { AppEnv } from "./env";
import { ApiError, handleError } from "./errors";
import { commands } from "./routes/commands";
import { ingest } from "./routes/ingest";
import { securityHeaders } from "./middleware/security-headers";
import { locations } from "./routes/locations";
import { session } from "./routes/session";

/** The worker's routes. Static assets (the dashboard) are served before this for every path but /api/*. */
export const app = new Hono<AppEnv>()
  .use(securityHeaders())
  .get("/api/v1/health", (c) => c.json({ ok: true }))
  .route("/api/v1/ingest", ingest)
  .route("/api/v1/locations", locations)
  .route("/api/v1/commands", commands)
  .route("/api/v1/session", session)
  .all("/api/*", (c) => {
    throw new ApiError(404, `no route for ${c.req.method} ${c.req.path}`, ["see the API reference in README.md"]);
  })
  // Reached only when the assets binding passes a request on (e.g. in tests).
  .all("*", (c) => c.env.ASSETS.fetch(c.req.raw))
  .onError(handleError);
