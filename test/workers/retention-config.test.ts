import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { expectError, headOf, locationPath } from "./support/api";
import { errorBody } from "../../protocol";
import { reading } from "./support/events";

/** A RETENTION_DAYS that is not a positive number: every call reaching a location says so, and nothing is stored. */
describe("RETENTION_DAYS misconfigured", () => {
  it.each(["thirty", "0", "-1", "30d"])("RETENTION_DAYS=%j: 503 with why on ingest and reads, nothing stored", async (value) => {
    const broken = { ...env, RETENTION_DAYS: value } as Env;
    const location = `retention-config-${value.replace(/\W/g, "_")}`;
    const why = `RETENTION_DAYS must be a positive number of days (decimals allowed), or unset to keep every reading; got ${JSON.stringify(value)}`;
    const ingest = await app.request(
      "/api/v1/ingest",
      {
        method: "POST",
        headers: { authorization: `Bearer ${env.INGEST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ events: [reading(location)] }),
      },
      broken,
    );
    expect(ingest.status).toBe(503);
    expect(errorBody.parse(await ingest.json())).toEqual({ error: "RETENTION_DAYS is invalid", issues: [why] });
    await expectError(await app.request(locationPath(location, "/events"), {}, broken), 503, "RETENTION_DAYS is invalid", [why]);
    // With the configuration right again (this project's RETENTION_DAYS), the location holds nothing.
    expect(await headOf(location)).toBe(0);
  });
});
