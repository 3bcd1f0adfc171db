import { Hono } from "hono";
import type { AppEnv } from "../env";
import { requireUpgrade } from "../errors";
import { perIp } from "../guards";
import { bearerSecret } from "../middleware/bearer-secret";
import { commandHubStub } from "../stubs";

/**
 * The bridge's side of actions, guarded by the ingest token:
 * `GET /api/v1/commands/live` upgrades to the commands socket, handed to the
 * commands hub (protocol/command-hub.ts says what travels on it).
 */
export const commands = new Hono<AppEnv>().use(perIp, bearerSecret("INGEST_TOKEN")).get("/live", (c) => {
  requireUpgrade(c.req.header("upgrade"));
  return commandHubStub(c.env).fetch(c.req.raw);
});
