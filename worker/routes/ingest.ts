import { Hono } from "hono";
import { INGEST_LIMITS, checkIngestEvent, ingestEnvelope, type IngestEvent, type IngestResponse, type RejectedEvent } from "../../protocol";
import type { AppEnv } from "../env";
import { readJsonBody } from "../json-body";
import { perIngestToken } from "../guards";
import { bearerSecret } from "../middleware/bearer-secret";
import { parseOr400 } from "../params";
import { locationStub } from "../stubs";

/**
 * POST /api/v1/ingest: validate everything at the edge, then hand each
 * location its share of the batch in parallel. Invalid events are listed and
 * never reach an object; a malformed envelope stores nothing at all.
 */
export const ingest = new Hono<AppEnv>().post("/", bearerSecret("INGEST_TOKEN"), perIngestToken, async (c) => {
  const body = await readJsonBody(c.req.raw, INGEST_LIMITS.maxBodyBytes);
  const { events } = parseOr400(ingestEnvelope, body, "ingest body");

  const now = Date.now();
  const rejected: RejectedEvent[] = [];
  const byLocation = new Map<string, IngestEvent[]>();
  events.forEach((raw, index) => {
    const check = checkIngestEvent(raw, now);
    if (!check.ok) {
      rejected.push({ index, id: check.id, errors: check.errors });
      return;
    }
    const group = byLocation.get(check.event.location);
    if (group) group.push(check.event);
    else byLocation.set(check.event.location, [check.event]);
  });

  const results = await Promise.all(
    [...byLocation].map(([location, group]) => locationStub(c.env, location).append(location, group)),
  );
  const response: IngestResponse = {
    accepted: results.reduce((n, r) => n + r.accepted, 0),
    duplicates: results.reduce((n, r) => n + r.duplicates, 0),
    rejected,
  };
  return c.json(response);
});
