import { z } from "zod";
import { eventsPage, type LogEvent } from "../../../protocol/events";
import { formatIssues } from "../../../protocol/issues";
import { hourlyResponse, type HourlyResponse } from "../../../protocol/read";
import { noteUnauthorized, readHeaders, withKey } from "./share-key";
import { readEvents } from "./frames";

/** The read API as the dashboard uses it: every answer is checked against the contract before it is shown. */
const API = "/api/v1/locations";

export const locationPath = (location: string): string => `${API}/${encodeURIComponent(location)}`;

export class ApiError extends Error {}

export async function getJson<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
  const response = await fetch(path, { signal, headers: { accept: "application/json", ...readHeaders() } });
  if (response.status === 401) noteUnauthorized();
  if (!response.ok) throw new ApiError(`${path}: HTTP ${response.status}`);
  const parsed = schema.safeParse(await response.json());
  if (!parsed.success) throw new ApiError(`${path}: unexpected answer (${formatIssues(parsed.error).join("; ")})`);
  return parsed.data;
}

/** Hourly history; without a range, the server's default: the 24 hours ending with the current one. */
export function fetchHourly(location: string, range?: { from: number; to: number }, signal?: AbortSignal): Promise<HourlyResponse> {
  const query = range ? `?from=${range.from}&to=${range.to}` : "";
  return getJson(`${locationPath(location)}/hourly${query}`, hourlyResponse, signal);
}

/** A page of the log, read as tolerantly as live frames: entries this build cannot read are skipped (and logged). */
export async function fetchEvents(location: string, range: { after: number; limit: number }, signal?: AbortSignal): Promise<LogEvent[]> {
  const path = `${locationPath(location)}/events?after=${range.after}&limit=${range.limit}`;
  const page = await getJson(path, eventsPage.extend({ events: z.array(z.unknown()) }), signal);
  const { events, problems } = readEvents(page.events);
  if (problems.length > 0) console.warn(`[events] skipped: ${problems.join("; ")}`);
  return events;
}

/** The live socket's URL on the page's own origin (ws: or wss: to match http: or https:). */
export function liveUrl(pageUrl: { protocol: string; host: string }, location: string, since: number | null): string {
  const scheme = pageUrl.protocol === "https:" ? "wss:" : "ws:";
  return withKey(`${scheme}//${pageUrl.host}${locationPath(location)}/live${since === null ? "" : `?since=${since}`}`);
}

/** The fleet socket's URL on the page's own origin: every location's summary over one socket. */
export function fleetUrl(pageUrl: { protocol: string; host: string }): string {
  return `${pageUrl.protocol === "https:" ? "wss:" : "ws:"}//${pageUrl.host}/api/v1/fleet/live`;
}
