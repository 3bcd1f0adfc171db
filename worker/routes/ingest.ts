import { Hono } from "hono";
import { INGEST_LIMITS, checkIngestEvent, ingestEnvelope, type IngestEvent, type IngestResponse, type RejectedEvent } from "../../protocol";
import type { AppEnv } from "../env";
import { readJsonBody } from "../json-body";
import { perIngestToken } from "../guards";
import { bearerSecret } from "../middleware/bearer-secret";
import { parseOr400 } from "../params";
import { locationStub } from "../stubs";
import { admit } from "../../domain/devices/admit";
import { enrollmentPolicy } from "../enrollment";
import { registryCache } from "../registry-cache";
import { countRejected } from "../rejection-counter";

/**
 * POST /api/v1/ingest: validate everything at the edge, then hand each
 * location its share of the batch in parallel. Invalid events are listed and
 * never reach an object; a malformed envelope stores nothing at all.
 * The device registry decides where each valid event goes (a registered
 * device's location, whatever the event claims) and refuses those of disabled
 * devices (counted on the device, off the request's path) and, under
 * DEVICE_ENROLLMENT=registered, of unknown ones.
 */
export const ingest = new Hono<AppEnv>().post("/", bearerSecret("INGEST_TOKEN"), perIngestToken, async (c) => {
  const enrollment = enrollmentPolicy(c.env);
  const body = await readJsonBody(c.req.raw, INGEST_LIMITS.maxBodyBytes);
  const { events } = parseOr400(ingestEnvelope, body, "ingest body");
  const routes = await registryCache.current(c.env);

  const now = Date.now();
  const rejected: RejectedEvent[] = [];
  /** Registered devices whose events were refused (one entry per event), to count on their rows. */
  const refused: string[] = [];
  /** Each location's share of the batch, with each event's index in the request. */
  const byLocation = new Map<string, { events: IngestEvent[]; indexes: number[] }>();
  events.forEach((raw, index) => {
    const check = checkIngestEvent(raw, now);
    if (!check.ok) {
      rejected.push({ index, id: check.id, errors: check.errors });
      return;
    }
    const { deviceId, location: claimed } = check.event;
    const admission = admit(routes.get(deviceId), deviceId, claimed, enrollment);
    if (!admission.ok) {
      rejected.push({ index, id: check.event.id, errors: [admission.error] });
      if (admission.counted) refused.push(deviceId);
      return;
    }
    const event = admission.location === claimed ? check.event : { ...check.event, location: admission.location };
    let group = byLocation.get(event.location);
    if (!group) byLocation.set(event.location, (group = { events: [], indexes: [] }));
    group.events.push(event);
    group.indexes.push(index);
  });

  countRejected(c.env, (p) => c.executionCtx.waitUntil(p), refused);

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
