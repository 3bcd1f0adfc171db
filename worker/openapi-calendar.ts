import { CALENDAR_LIMITS, HOURLY_LIMITS, LOW_COUNT_VOTES, dailyResponse, heatmapResponse, hourlyLocalResponse, locationName, rankingResponse, settingsBody, settingsResponse, weeklyResponse } from "../protocol";
import { dailyQuery, exportQuery, heatmapQuery, localHourlyQuery, rankingQuery, weeklyQuery } from "./calendar-params";
import type { ApiRoute } from "./openapi-routes";
import { SETTINGS_BODY_LIMIT } from "./routes/calendar";

/** The calendar's entries of the API reference (worker/openapi-routes.ts lists them with the others). */

const location = { location: locationName };
const LOCAL = "Days and hours are the location's own (its settings' `timeZone`, UTC until set); `openOnly=true` counts only the quarter hours inside its opening hours.";

export const HOURLY_ROUTE: ApiRoute = {
  method: "get",
  path: "/api/v1/locations/{location}/hourly",
  tag: "read",
  summary: "Hourly history in the location's local hours",
  description: `\`from\`/\`to\` (ISO 8601 or epoch ms) are widened to whole local hours (Asia/Kolkata's start at :30 UTC); one alone: the 24 hours from or to it; neither: the ${HOURLY_LIMITS.defaultHours} hours ending with the current one; at most ${HOURLY_LIMITS.maxHours} hours. \`hour\` is each hour's first UTC instant, \`local\` the same on the location's clock; at a DST change the repeated hour is two rows and the skipped one none. With \`openOnly\`, wholly closed hours are left out. ${LOCAL}`,
  auth: "viewer",
  params: location,
  query: localHourlyQuery,
  response: hourlyLocalResponse,
};

export const CALENDAR_API_ROUTES: ApiRoute[] = [
  { method: "get", path: "/api/v1/locations/{location}/settings", tag: "calendar", summary: "The location's settings (UTC and always open until set)", auth: "viewer", params: location, response: settingsResponse },
  {
    method: "put",
    path: "/api/v1/locations/{location}/settings",
    tag: "calendar",
    summary: "Set the location's time zone, opening hours, display name and digest time",
    description:
      "A `settings-set` entry in the log (none when equal to the settings in force). `timeZone` an IANA name; `openingHours` weekday (`mon`…`sun`) → `[[\"HH:MM\",\"HH:MM\"],…]` on quarter hours, each span opening before it closes (`24:00` ends at midnight), none overlapping; a weekday left out is closed, `openingHours` left out means always open. `digestAt` the local time of the daily digest. Bad settings: 400 with every reason, nothing changed.",
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
    description: `\`from\`/\`to\` local dates (YYYY-MM-DD, inclusive), at most ${CALENDAR_LIMITS.maxDays} days; one alone: ${CALENDAR_LIMITS.defaultDays} days from or to it; neither: the ${CALENDAR_LIMITS.defaultDays} days ending today. A DST day has 23 or 25 \`hours\` and counts exactly its events. ${LOCAL}`,
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
    description: `The weeks holding the local dates \`from\` … \`to\`, at most ${CALENDAR_LIMITS.maxWeeks}; default: the ${CALENDAR_LIMITS.defaultWeeks} weeks ending with this one. ${LOCAL}`,
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
    description: `168 cells (Monday 00 first) over the \`weeks\` × 7 local days ending today (1–${CALENDAR_LIMITS.maxHeatmapWeeks}, default ${CALENDAR_LIMITS.defaultHeatmapWeeks}). ${LOCAL}`,
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
    description: `Readings dated in the local days \`from\` … \`to\` (as \`daily\`, at most ${CALENDAR_LIMITS.maxDays} days), in log order, streamed a log page at a time. Numbers as the dashboard's CSV writes them (12 significant digits); CSV temperatures in \`unit\` (C default, or F), NDJSON in °C. Each row has the UTC and the local time.`,
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
    description: `\`period\`: today (so far), 7d or 30d (local days ending today), with the previous period's score and the change; \`lowCount\` under ${LOW_COUNT_VOTES} votes. One call to the fleet object, which holds the figures each location pushes with its summary.`,
    auth: "viewer",
    query: rankingQuery,
    response: rankingResponse,
  },
];
