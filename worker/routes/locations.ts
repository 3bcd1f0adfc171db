import { Hono } from "hono";
import { rulesBody, shareBody, systemEventId, type ShareResponse, type AlertsResponse, type DevicesResponse, type EventsGone, type HourlyLocalResponse, type LocationResponse, type LocationsResponse, type RebuildResponse, type RulesResponse } from "../../protocol";
import { readJsonBody } from "../json-body";
import { ackBody, type AckResponse } from "../../protocol/notifications";
import { ApiError } from "../errors";
import { isoString } from "../../protocol/time";
import type { AppEnv } from "../env";
import { requireUpgrade } from "../errors";
import { makeShareKey } from "../credentials";
import { readAccess, socketAccess } from "../guards";
import { bearerSecret } from "../middleware/bearer-secret";
import { requireSecret } from "../secrets";
import { localHourlyQuery } from "../calendar-params";
import { encodeLocationsCursor, eventsQuery, liveQuery, locationsQuery, parseLocation, parseOr400 } from "../params";
import { fleetStub, locationStub } from "../stubs";
import { locationDevices } from "../device-health";

export const RULES_BODY_LIMIT = 64 * 1024;
export const ACK_BODY_LIMIT = 4096;

const read = readAccess();

/** The read API, the live socket and the per-location admin routes, under /api/v1/locations. */
export const locations = new Hono<AppEnv>()
  .get("/", read, async (c) => {
    // One call to the fleet view, never one per location.
    const { limit, cursor } = parseOr400(locationsQuery, c.req.query(), "locations query");
    const page = await fleetStub(c.env).page(cursor ?? null, limit);
    return c.json({ locations: page.locations, next: page.next === null ? null : encodeLocationsCursor(page.next) } satisfies LocationsResponse);
  })
  .get("/:location", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { head, window } = await locationStub(c.env, location).summary(location);
    return c.json({ location, head, window } satisfies LocationResponse);
  })
  .get("/:location/hourly", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { from, to, openOnly } = parseOr400(localHourlyQuery(Date.now()), c.req.query(), "hourly query");
    const { timeZone, hours } = await locationStub(c.env, location).hourly(from, to, openOnly);
    return c.json({ location, timeZone, openOnly, hours } satisfies HourlyLocalResponse);
  })
  .get("/:location/events", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { after, limit } = parseOr400(eventsQuery, c.req.query(), "events query");
    const page = await locationStub(c.env, location).page(after, limit);
    if ("firstSeq" in page) {
      const gone: EventsGone = {
        error: "events before the retained start are gone",
        issues: [`retention dropped every event up to seq ${page.firstSeq - 1}; the first seq held is ${page.firstSeq}: ask for after=${page.firstSeq - 1} or later`],
        firstSeq: page.firstSeq,
      };
      return c.json(gone, 410);
    }
    return c.json(page);
  })
  .get("/:location/devices", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json((await locationDevices(c.env, location, Date.now())) satisfies DevicesResponse);
  })
  .get("/:location/live", socketAccess(), async (c) => {
    const location = parseLocation(c.req.param("location"));
    requireUpgrade(c.req.header("upgrade"));
    const { since } = parseOr400(liveQuery, c.req.query(), "live query");
    const target = new URL("https://location.internal/live");
    target.searchParams.set("location", location);
    if (since !== undefined) target.searchParams.set("since", String(since));
    return locationStub(c.env, location).fetch(new Request(target, c.req.raw));
  })
  .get("/:location/rules", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json({ location, ...(await locationStub(c.env, location).rules()) } satisfies RulesResponse);
  })
  .put("/:location/rules", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { rules } = parseOr400(rulesBody, await readJsonBody(c.req.raw, RULES_BODY_LIMIT), "rules");
    return c.json({ location, ...(await locationStub(c.env, location).setRules(location, rules)) } satisfies RulesResponse);
  })
  .get("/:location/alerts", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json({ location, ...(await locationStub(c.env, location).alerts()) } satisfies AlertsResponse);
  })
  .post("/:location/alerts/:id/ack", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    const alertId = parseOr400(systemEventId, c.req.param("id"), "alert id");
    // The body is optional: no body (or an empty one) acknowledges without a comment.
    const raw = c.req.raw.body === null || c.req.header("content-length") === "0" ? {} : await readJsonBody(c.req.raw, ACK_BODY_LIMIT);
    const { comment } = parseOr400(ackBody, raw, "acknowledgement");
    const result = await locationStub(c.env, location).acknowledge(alertId, comment ?? null);
    if (result.outcome === "unknown") throw new ApiError(404, `no alert ${alertId} at ${location}`, ["an alert id is the id of its alert-raised entry (GET …/alerts lists them)"]);
    if (result.outcome === "already") {
      throw new ApiError(409, `alert ${alertId} is already acknowledged`, [`acknowledged at ${result.acknowledgement.at}${result.acknowledgement.comment === null ? "" : `: ${result.acknowledgement.comment}`}`]);
    }
    return c.json({ location, alertId, acknowledgement: result.acknowledgement } satisfies AckResponse);
  })
  .post("/:location/rebuild", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json((await locationStub(c.env, location).startRebuild(location)) satisfies RebuildResponse, 202);
  })
  .get("/:location/rebuild", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json((await locationStub(c.env, location).rebuildStatus(location)) satisfies RebuildResponse);
  })
  .get("/:location/stats", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json({ location, ...(await locationStub(c.env, location).writeStats()) });
  })
  .post("/:location/share", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    const shareSecret = requireSecret(c.env, "SHARE_SECRET");
    const { expiresInSeconds } = parseOr400(shareBody, await readJsonBody(c.req.raw, 4096), "share body");
    const expiresAt = Date.now() + expiresInSeconds * 1000;
    const key = await makeShareKey(shareSecret, location, expiresAt);
    const url = new URL(`/locations/${encodeURIComponent(location)}`, c.req.url);
    url.searchParams.set("key", key);
    return c.json({ url: url.href, key, expiresAt: isoString(expiresAt) } satisfies ShareResponse);
  });
