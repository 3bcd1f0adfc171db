import { CALENDAR_LIMITS, HOURLY_LIMITS, LOW_COUNT_VOTES, dailyResponse, heatmapResponse, hourlyLocalResponse, locationName, rankingResponse, settingsBody, settingsResponse, weeklyResponse } from "../protocol";
import { dailyQuery, exportQuery, heatmapQuery, localHourlyQuery, rankingQuery, weeklyQuery } from "./calendar-params";
import type { ApiRoute } from "./openapi-routes";
import { SETTINGS_BODY_LIMIT } from "./routes/calendar";

/** The calendar's entries of the API reference (worker/openapi-routes.ts lists them with the others). */

const location = { location: locationName };
/** Said once, in the tag's description (worker/openapi.ts): days and hours are the location's own, `openOnly` counts open quarter hours only. */

export const HOURLY_ROUTE: ApiRoute = {
  method: "get",
  path: "/api/v1/locations/{location}/hourly",
  tag: "read",
  summary: "Hourly history in the location's local hours",
  description: `Widened to whole local hours; \`to\` defaults to now, \`from\` to ${HOURLY_LIMITS.defaultHours} hours before it; at most ${HOURLY_LIMITS.maxHours}. A DST change repeats or skips rows.`,
  auth: "viewer",
  params: location,
  query: localHourlyQuery(0),
  response: hourlyLocalResponse,
};

export const CALENDAR_API_ROUTES: ApiRoute[] = [
  { method: "get", path: "/api/v1/locations/{location}/settings", tag: "calendar", summary: "The location's settings (UTC and always open until set)", auth: "viewer", params: location, response: settingsResponse },
  {
    method: "put",
    path: "/api/v1/locations/{location}/settings",
    tag: "calendar",
    summary: "Set the location's time zone, opening hours, display name and digest time",
    description: "Spans on quarter hours, no overlaps; a weekday left out is closed; no `openingHours`: always open.",
    auth: "admin",
    params: location,
    body: settingsBody,
    maxBodyBytes: SETTINGS_BODY_LIMIT,
    response: settingsResponse,
  },
  {
    method: "get",
    path: "/api/v1/locations/{location}/daily",
    tag: "calendar",
    summary: "Local calendar days",
    description: `Local dates, inclusive, at most ${CALENDAR_LIMITS.maxDays} days (default ${CALENDAR_LIMITS.defaultDays} ending today).`,
    auth: "viewer",
    params: location,
    query: dailyQuery,
    response: dailyResponse,
  },
  {
    method: "get",
    path: "/api/v1/locations/{location}/weekly",
    tag: "calendar",
    summary: "ISO weeks (Monday to Sunday, local)",
    description: `At most ${CALENDAR_LIMITS.maxWeeks} weeks (default ${CALENDAR_LIMITS.defaultWeeks} ending this one).`,
    auth: "viewer",
    params: location,
    query: weeklyQuery,
    response: weeklyResponse,
  },
  {
    method: "get",
    path: "/api/v1/locations/{location}/heatmap",
    tag: "calendar",
    summary: "Weekday × local hour: votes and score",
    description: `168 cells over the \`weeks\` (1–${CALENDAR_LIMITS.maxHeatmapWeeks}) ending today.`,
    auth: "viewer",
    params: location,
    query: heatmapQuery,
    response: heatmapResponse,
  },
  {
    method: "get",
    path: "/api/v1/locations/{location}/export",
    tag: "calendar",
    summary: "The raw readings of local days, streamed as CSV or NDJSON",
    description: "Streamed; numbers as the dashboard's CSV; CSV temperatures in `unit`, NDJSON in °C.",
    auth: "viewer",
    params: location,
    query: exportQuery,
    response: { status: 200, description: "CSV (text/csv) or NDJSON (application/x-ndjson), one reading per line", contentType: "text/csv" },
  },
  {
    method: "get",
    path: "/api/v1/ranking",
    tag: "calendar",
    summary: "Locations ranked by score over a period of their own calendar",
    description: `Previous period's score and the change; \`lowCount\` under ${LOW_COUNT_VOTES} votes. One call to the fleet object.`,
    auth: "viewer",
    query: rankingQuery,
    response: rankingResponse,
  },
];
