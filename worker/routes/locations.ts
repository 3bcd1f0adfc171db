import { Hono } from "hono";
import { rulesBody, shareBody, type ShareResponse, type AlertsResponse, type DevicesResponse, type HourlyLocalResponse, type LocationResponse, type LocationsResponse, type RulesResponse } from "../../protocol";
import { readJsonBody } from "../json-body";
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

export const RULES_BODY_LIMIT = 64 * 1024;

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
    return c.json(await locationStub(c.env, location).events(after, limit));
  })
  .get("/:location/devices", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const devices = await locationStub(c.env, location).devices();
    return c.json({
      devices: devices.map((d) => ({
        deviceId: d.deviceId,
        lastSeenAt: isoString(d.lastSeenAt),
        vote: (d.vote?.value ?? null) as DevicesResponse["devices"][number]["vote"],
        temperature: d.temperature?.value ?? null,
        humidity: d.humidity?.value ?? null,
      })),
    } satisfies DevicesResponse);
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
  .post("/:location/rebuild", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json({ location, ...(await locationStub(c.env, location).rebuild()) });
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
