import { Hono } from "hono";
import type { DailyResponse, HeatmapResponse, WeeklyResponse } from "../../protocol/calendar";
import { settingsBody, type LocationSettings, type SettingsResponse } from "../../protocol/settings";
import type { AppEnv } from "../env";
import { dailyQuery, exportQuery, heatmapQuery, weeklyQuery } from "../calendar-params";
import { exportStream } from "../export-stream";
import { localIso } from "../../domain/calendar/zone";
import { readAccess } from "../guards";
import { readJsonBody } from "../json-body";
import { bearerSecret } from "../middleware/bearer-secret";
import { parseLocation, parseOr400 } from "../params";
import { locationStub } from "../stubs";

export const SETTINGS_BODY_LIMIT = 16 * 1024;

const read = readAccess();

/** RPC's types turn tuples (opening spans) into arrays; the object returns what it stored from a validated body. */
const settingsAnswer = (location: string, held: { settings: unknown; seq: number | null }): SettingsResponse => ({
  location,
  settings: held.settings as LocationSettings,
  seq: held.seq,
});

/** A location's own calendar, under /api/v1/locations: settings, local days and weeks, the heatmap, the export. */
export const calendar = new Hono<AppEnv>()
  .get("/:location/settings", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    return c.json(settingsAnswer(location, await locationStub(c.env, location).settings()));
  })
  .put("/:location/settings", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const location = parseLocation(c.req.param("location"));
    const settings = parseOr400(settingsBody, await readJsonBody(c.req.raw, SETTINGS_BODY_LIMIT), "settings");
    return c.json(settingsAnswer(location, await locationStub(c.env, location).setSettings(location, settings)));
  })
  .get("/:location/daily", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { range, openOnly } = parseOr400(dailyQuery, c.req.query(), "daily query");
    return c.json({ location, openOnly, ...(await locationStub(c.env, location).daily(range, openOnly)) } satisfies DailyResponse);
  })
  .get("/:location/weekly", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { range, openOnly } = parseOr400(weeklyQuery, c.req.query(), "weekly query");
    return c.json({ location, openOnly, ...(await locationStub(c.env, location).weekly(range, openOnly)) } satisfies WeeklyResponse);
  })
  .get("/:location/heatmap", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { weeks, openOnly } = parseOr400(heatmapQuery, c.req.query(), "heatmap query");
    return c.json({ location, openOnly, weeks, ...(await locationStub(c.env, location).heatmap(weeks, openOnly)) } satisfies HeatmapResponse);
  })
  .get("/:location/export", read, async (c) => {
    const location = parseLocation(c.req.param("location"));
    const { range, format, unit } = parseOr400(exportQuery, c.req.query(), "export query");
    const stub = locationStub(c.env, location);
    const { from, to, timeZone } = await stub.exportSpan(range);
    const body = exportStream((after, limit) => stub.exportPage({ from, to }, after, limit), format, timeZone, unit);
    const name = `happy-hub-${location.replace(/[^\p{L}\p{N}_.-]+/gu, "_")}-${localIso(timeZone, from).slice(0, 10)}.${format}`;
    return new Response(body, {
      headers: {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
      },
    });
  });
