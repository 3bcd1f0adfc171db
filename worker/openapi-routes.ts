import { z } from "zod";
import {
  alertsResponse,
  devicesResponse,
  sessionBody,
  sessionResponse,
  sessionStatus,
  shareBody,
  shareResponse,
  fleetFrame,
  hubFrame,
  eventsGone,
  eventsPage,
  healthResponse,
  INGEST_LIMITS,
  ingestEvent,
  ingestResponse,
  liveFrame,
  locationName,
  deviceId as deviceIdParam,
  locationResponse,
  locationsResponse,
  rebuildResponse,
  rulesBody,
  rulesResponse,
  statsResponse,
  EVENTS_PAGE,
} from "../protocol";
import { deviceBody, deviceHistoryResponse, registeredDevice, registeredDevicesResponse, DEVICES_PAGE } from "../protocol/devices";
import { devicesQuery, eventsQuery, liveQuery, locationsQuery } from "./params";
import { CALENDAR_API_ROUTES, HOURLY_ROUTE } from "./openapi-calendar";
import { ACK_BODY_LIMIT, RULES_BODY_LIMIT } from "./routes/locations";
import { DEVICE_BODY_LIMIT } from "./routes/devices";
import { ackBody, ackResponse, channelsBody, channelsResponse, systemEventId } from "../protocol";
import { CHANNELS_BODY_LIMIT } from "./routes/notifications";

/**
 * The API reference: one entry per route, turned into the OpenAPI document
 * (`GET /api/v1/openapi.json`, rendered on `/api/docs`) by worker/openapi.ts.
 * Schemas are the contract's own zod schemas; auth and the error answers they
 * imply (400 for bad parameters or bodies, 401/503 for tokens, 413 for bodies)
 * are added from the entry. test/workers/openapi.test.ts fails when a route of
 * the app has no entry here (or an entry no route).
 */
export interface ApiRoute {
  method: "get" | "post" | "put" | "delete" | "patch";
  /** OpenAPI style: `{param}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** Which credential the route requires (`viewer`: a read, open while VIEWER_TOKEN is unset). */
  auth: "none" | "viewer" | "ingest" | "admin";
  /** Path parameters, by name. */
  params?: Record<string, z.ZodType>;
  /** The query's schema (an object of string fields, as parsed by the route). */
  query?: z.ZodType;
  /** JSON request body. */
  body?: z.ZodType;
  /** Largest body the route reads (documents its 413). */
  maxBodyBytes?: number;
  /** The success answer: a JSON body, or another status and content type. */
  response: z.ZodType | { status: number; description: string; contentType?: string; schema?: z.ZodType };
  /** Further error statuses the route answers, with when (and the body, when it is more than the contract's error body). */
  errors?: Record<number, string | { description: string; schema: z.ZodType }>;
}

const location = { location: locationName };
const device = { deviceId: deviceIdParam };
const NOT_REGISTERED = { 404: "The device is not registered" };
const NOT_FOUND_NOTE = "Every location exists (empty until its first event): reads of an unknown name answer an empty location, not 404.";

export const API_ROUTES: ApiRoute[] = [
  { method: "get", path: "/api/v1/health", tag: "service", summary: "The worker answers", auth: "none", response: healthResponse },
  {
    method: "get",
    path: "/api/v1/openapi.json",
    tag: "service",
    summary: "This document (OpenAPI 3.1)",
    auth: "none",
    response: { status: 200, description: "The OpenAPI document", schema: z.record(z.string(), z.unknown()) },
  },
  {
    method: "get",
    path: "/api/docs",
    tag: "service",
    summary: "A page to read this document and try requests",
    auth: "none",
    response: { status: 200, description: "HTML page", contentType: "text/html" },
  },
  {
    method: "post",
    path: "/api/v1/ingest",
    tag: "ingest",
    summary: "Append a batch of device events",
    description: `The bridge's door. ${INGEST_LIMITS.minEvents}–${INGEST_LIMITS.maxEvents} events per request. Invalid events are listed in \`rejected\` and stored nowhere; the others are stored exactly once per (location, device, id): a repeat counts as a duplicate, and a repeat with other readings is also listed in \`conflicts\` (the first stored wins). accepted + duplicates + rejected = events.`,
    auth: "ingest",
    body: z.object({ events: z.array(ingestEvent).min(INGEST_LIMITS.minEvents).max(INGEST_LIMITS.maxEvents) }),
    maxBodyBytes: INGEST_LIMITS.maxBodyBytes,
    response: ingestResponse,
    errors: {
      503: "INGEST_TOKEN is not configured, shorter than 32 characters or equal to another secret; DEVICE_ENROLLMENT is neither `open` nor `registered`; or the device registry did not answer (retry after Retry-After)",
    },
  },
  {
    method: "get",
    path: "/api/v1/locations",
    tag: "read",
    summary: "The fleet view: every location's summary, by name, paged",
    description: "One call to the fleet object (never to every location). `next` is the cursor of the following page, null on the last.",
    auth: "viewer",
    query: locationsQuery,
    response: locationsResponse,
  },
  {
    method: "get",
    path: "/api/v1/fleet/live",
    tag: "read",
    summary: "Live WebSocket of the whole fleet",
    description:
      "Upgrade to a WebSocket: `snapshot` frames (`part` of `parts`, each at most 1,000,000 bytes) with every location's summary, then a `changes` frame per burst of changed summaries (coalesced ~250 ms). Read-only: send `ping` (answered `pong`); anything else closes it with 1008.",
    auth: "viewer",
    response: { status: 101, description: "Switching to a WebSocket carrying fleet frames", schema: fleetFrame },
    errors: { 426: "Not a WebSocket upgrade request" },
  },
  { method: "get", path: "/api/v1/locations/{location}", tag: "read", summary: "A location's head and live hourly score", description: NOT_FOUND_NOTE, auth: "viewer", params: location, response: locationResponse },
  HOURLY_ROUTE,
  {
    method: "get",
    path: "/api/v1/locations/{location}/events",
    tag: "read",
    summary: "A page of the location's log",
    description: `Entries with seq > \`after\`, oldest first, \`limit\` at most (default ${EVENTS_PAGE.defaultLimit}, max ${EVENTS_PAGE.maxLimit}); \`next\` is the \`after\` of the next page, null at the head.`,
    auth: "viewer",
    params: location,
    query: eventsQuery,
    response: eventsPage,
    errors: {
      410: {
        description: "`after` is before the retained start (RETENTION_DAYS dropped those events): the error body with `firstSeq`, the first seq still held",
        schema: eventsGone,
      },
    },
  },
  { method: "get", path: "/api/v1/locations/{location}/devices", tag: "read", summary: "The location's devices: latest readings, registration and health", description: "Health from the registered `expectedIntervalSeconds`: online while silent for at most 1× the interval, late up to 3×, offline beyond (null without an interval). Registered devices never heard here are listed with `lastSeenAt` null.", auth: "viewer", params: location, response: devicesResponse },
  {
    method: "get",
    path: "/api/v1/locations/{location}/live",
    tag: "read",
    summary: "Live WebSocket",
    description:
      "Upgrade to a WebSocket. The first frame is a `snapshot`; each committed batch follows as `events` frames (each under 1 MiB), and a `window` frame whenever the window ages with no new event. With `since`, the entries after that seq follow the snapshot as `events` frames, so a reconnecting client misses nothing; more than 1,000 behind, a `resync` frame comes instead (page `/events` or start fresh). The socket is read-only: send `ping` to keep it alive (answered `pong`); anything else closes it with 1008. Beyond MAX_SOCKETS_PER_LOCATION open sockets a new one is closed with 1013. Frames: see the `x-frames` schema of the 101 answer.",
    auth: "viewer",
    params: location,
    query: liveQuery,
    response: { status: 101, description: "Switching to a WebSocket carrying live frames", schema: liveFrame },
    errors: { 426: "Not a WebSocket upgrade request" },
  },
  { method: "get", path: "/api/v1/locations/{location}/rules", tag: "actions", summary: "The rules in force", auth: "viewer", params: location, response: rulesResponse },
  {
    method: "put",
    path: "/api/v1/locations/{location}/rules",
    tag: "actions",
    summary: "Replace the rule set",
    description: "The complete rule set; an empty array removes every rule (alerts they raised are cleared).",
    auth: "admin",
    params: location,
    body: rulesBody,
    maxBodyBytes: RULES_BODY_LIMIT,
    response: rulesResponse,
  },
  {
    method: "get",
    path: "/api/v1/locations/{location}/alerts",
    tag: "actions",
    summary: "Alerts raised and not cleared, with their notifications and acknowledgement",
    description: "Each raised alert with its id, acknowledgement and notifications (pending, sent or failed); the newest 50 commands; the newest 50 notifications of any alert.",
    auth: "viewer",
    params: location,
    response: alertsResponse,
  },
  {
    method: "post",
    path: "/api/v1/locations/{location}/alerts/{id}/ack",
    tag: "actions",
    summary: "Acknowledge an alert",
    description: "Records an `alert-acknowledged` entry, with an optional comment (at most 500 characters; the body may be empty). `id` is the id of the alert's `alert-raised` entry (`~alert-<seq>`); a cleared alert can still be acknowledged. Once only: a second acknowledgement answers 409 and changes nothing.",
    auth: "admin",
    params: { ...location, id: systemEventId },
    body: ackBody,
    maxBodyBytes: ACK_BODY_LIMIT,
    response: ackResponse,
    errors: { 404: "No alert with this id at this location", 409: "The alert is already acknowledged (the issue says when and the comment)" },
  },
  {
    method: "get",
    path: "/api/v1/notifications",
    tag: "notifications",
    summary: "The notification channels (secrets hidden)",
    auth: "admin",
    response: channelsResponse,
  },
  {
    method: "put",
    path: "/api/v1/notifications",
    tag: "notifications",
    summary: "Replace the notification channels",
    description:
      "The complete set of webhook channels (at most 20). Deliveries follow Standard Webhooks: `webhook-id` (stable across retries), `webhook-timestamp` (seconds), `webhook-signature: v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">` keyed with the base64-decoded part of the `whsec_` secret; the JSON body is `{type, timestamp, data, text}` (`text` for chat incoming webhooks). Retried with backoff for 24 hours on network errors, 5xx and 429. `[]` removes every channel.",
    auth: "admin",
    body: channelsBody,
    maxBodyBytes: CHANNELS_BODY_LIMIT,
    response: channelsResponse,
  },
  {
    method: "post",
    path: "/api/v1/locations/{location}/rebuild",
    tag: "admin",
    summary: "Rebuild every projection from the log, in chunks",
    description:
      "Starts a rebuild (or finds the one running) and runs its first chunk; the location's alarm runs the rest, each chunk in its own invocation and resumable after eviction. Reads answer from the old projections until the last chunk swaps the new ones in. Poll GET …/rebuild until `state` is `done`. A location with no log answers `idle`.",
    auth: "admin",
    params: location,
    response: { status: 202, description: "The rebuild's progress after its first chunk", schema: rebuildResponse },
  },
  { method: "get", path: "/api/v1/locations/{location}/rebuild", tag: "admin", summary: "The last rebuild's progress", auth: "admin", params: location, response: rebuildResponse },
  { method: "get", path: "/api/v1/locations/{location}/stats", tag: "admin", summary: "Writes since the location's object started", auth: "admin", params: location, response: statsResponse },
  {
    method: "post",
    path: "/api/v1/locations/{location}/share",
    tag: "access",
    summary: "A read-only share link for one location",
    description: "For a kiosk or wall display: an HMAC-signed, stateless key (SHARE_SECRET) for this location's reads and live socket only, until `expiresAt`. Rotating SHARE_SECRET revokes every link.",
    auth: "admin",
    params: location,
    body: shareBody,
    maxBodyBytes: 4096,
    response: shareResponse,
  },
  { method: "get", path: "/api/v1/session", tag: "access", summary: "How reads are guarded, and whether this browser is signed in", auth: "none", response: sessionStatus },
  {
    method: "post",
    path: "/api/v1/session",
    tag: "access",
    summary: "Sign in with the viewer token",
    description: "Sets the `hh_session` cookie (HttpOnly; Secure; SameSite=Strict; 7 days), which reads and live sockets accept in place of the token.",
    auth: "none",
    body: sessionBody,
    maxBodyBytes: 4096,
    response: sessionResponse,
    errors: { 401: "Not the viewer token", 429: "Too many sign-ins from this address", 503: "VIEWER_TOKEN is not set (reads are public), too short or equal to another secret" },
  },
  {
    method: "delete",
    path: "/api/v1/session",
    tag: "access",
    summary: "Sign out",
    auth: "none",
    response: { status: 204, description: "The session cookie is cleared" },
  },
  {
    method: "get",
    path: "/api/v1/commands/live",
    tag: "bridge",
    summary: "The bridge's commands socket",
    description:
      "Upgrade to a WebSocket to the commands hub. The hub says `hello` (its epoch); the bridge sends `resume` (its name, epoch, cursor); the hub answers `resumed` (active or standby) and sends every pending command after the cursor, then each new one as `commands` frames. The bridge reports `delivered`; the hub answers `recorded`. Frames: protocol/command-hub.ts; the 101 answer's schema lists the hub's.",
    auth: "ingest",
    response: { status: 101, description: "Switching to the commands WebSocket", schema: hubFrame },
    errors: { 426: "Not a WebSocket upgrade request" },
  },
  {
    method: "get",
    path: "/api/v1/devices",
    tag: "devices",
    summary: "Registered devices, by id, paged",
    description: `\`location\` lists one location's devices. \`limit\` 1–${DEVICES_PAGE.maxLimit} (default ${DEVICES_PAGE.defaultLimit}); \`next\` is the cursor of the following page, null on the last. A cursor this API did not issue is a 400.`,
    auth: "admin",
    query: devicesQuery,
    response: registeredDevicesResponse,
  },
  { method: "get", path: "/api/v1/devices/{deviceId}", tag: "devices", summary: "One registered device", auth: "admin", params: device, response: registeredDevice, errors: NOT_REGISTERED },
  {
    method: "put",
    path: "/api/v1/devices/{deviceId}",
    tag: "devices",
    summary: "Register a device, or replace its profile",
    description:
      "The complete profile: optional fields left out are cleared. Each change is an entry in the registry's log (registered, updated, moved, disabled, enabled); the same profile again adds none. The device's events go to `location` from now on, whatever they claim; while `enabled` is false they are rejected at ingest and counted. Every worker isolate applies the change within a second.",
    auth: "admin",
    params: device,
    body: deviceBody,
    maxBodyBytes: DEVICE_BODY_LIMIT,
    response: registeredDevice,
  },
  {
    method: "delete",
    path: "/api/v1/devices/{deviceId}",
    tag: "devices",
    summary: "Remove a device from the registry",
    description: "A `device-removed` entry; its history stays. Its events are then treated as an unknown device's (DEVICE_ENROLLMENT).",
    auth: "admin",
    params: device,
    response: { status: 204, description: "Removed" },
    errors: NOT_REGISTERED,
  },
  {
    method: "get",
    path: "/api/v1/devices/{deviceId}/history",
    tag: "devices",
    summary: "Every change to a device, oldest first",
    auth: "admin",
    params: device,
    response: deviceHistoryResponse,
    errors: { 404: "The device was never registered" },
  },
  ...CALENDAR_API_ROUTES,
];
