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
  /** Each location's share of the batch, with each event's index in the request. */
  const byLocation = new Map<string, { events: IngestEvent[]; indexes: number[] }>();
  events.forEach((raw, index) => {
    const check = checkIngestEvent(raw, now);
    if (!check.ok) {
      rejected.push({ index, id: check.id, errors: check.errors });
      return;
    }
    let group = byLocation.get(check.event.location);
    if (!group) byLocation.set(check.event.location, (group = { events: [], indexes: [] }));
    group.events.push(check.event);
    group.indexes.push(index);
  });

  const results = await Promise.all(
    [...byLocation].map(async ([location, group]) => ({ group, result: await locationStub(c.env, location).append(location, group.events) })),
  );
  const response: IngestResponse = {
    accepted: results.reduce((n, r) => n + r.result.accepted, 0),
    duplicates: results.reduce((n, r) => n + r.result.duplicates, 0),
    rejected,
    conflicts: results
      .flatMap(({ group, result }) =>
        result.conflicts.map((i) => ({ index: group.indexes[i]!, id: group.events[i]!.id, deviceId: group.events[i]!.deviceId })),
      )
      .sort((a, b) => a.index - b.index),
  };
  return c.json(response);
});
