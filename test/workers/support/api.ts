import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { z } from "zod";
import { undocumented } from "./openapi-check";
import { errorBody, eventsPage, ingestResponse, locationResponse, type ErrorBody, type EventsPage, type IngestResponse, type LogEvent, type ReadingEvent } from "../../../protocol";

/** Any origin works: the worker routes on the path. */
export const ORIGIN = "https://hub.test";

/** What each answer of `api` was asked, so `parsed` can hold it to the OpenAPI document. */
const asked = new WeakMap<Response, { method: string; path: string }>();

/** A request to the real worker entrypoint (the same fetch the runtime calls). */
export async function api(path: string, init?: RequestInit): Promise<Response> {
  const res = await exports.default.fetch(new Request(ORIGIN + path, init));
  asked.set(res, { method: init?.method ?? "GET", path });
  return res;
}

export const locationPath = (location: string, rest = ""): string => `/api/v1/locations/${encodeURIComponent(location)}${rest}`;

export interface PostOptions {
  /** Authorization header value; default `Bearer <INGEST_TOKEN>`; null sends none. */
  authorization?: string | null;
}

/** POSTs `body` (serialised unless already a string) to the ingest route. */
export function postIngest(body: unknown, { authorization = `Bearer ${env.INGEST_TOKEN}` }: PostOptions = {}): Promise<Response> {
  const headers = new Headers({ "content-type": "application/json" });
  if (authorization !== null) headers.set("authorization", authorization);
  return api("/api/v1/ingest", { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** Reads a JSON body and parses it with `schema` (the contract), failing the test on any mismatch. */
export async function parsed<S extends z.ZodType>(res: Response, schema: S, status = 200): Promise<z.output<S>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const json: unknown = JSON.parse(text);
  const request = asked.get(res);
  if (request) expect(undocumented(request.method, request.path, res.status, json), "the answer as the OpenAPI document describes it").toEqual([]);
  return schema.parse(json);
}

/** Posts a batch that must be answered 200; returns the parsed response. */
export async function ingestOk(events: unknown[]): Promise<IngestResponse> {
  return parsed(await postIngest({ events }), ingestResponse);
}

/** Asserts the contract's error body with an exact `error` and, when given, exact `issues`. */
export async function expectError(res: Response, status: number, error: string, issues?: string[]): Promise<ErrorBody> {
  const body = await parsed(res, errorBody, status);
  expect(body.error).toBe(error);
  if (issues) expect(body.issues).toEqual(issues);
  return body;
}

/** Every event of a location's log through the events endpoint, following `next`. */
export async function storedEvents(location: string): Promise<LogEvent[]> {
  const all: LogEvent[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const page: EventsPage = await parsed(await api(locationPath(location, `/events?after=${after}&limit=1000`)), eventsPage);
    all.push(...page.events);
    after = page.next;
  }
  return all;
}

/** A location's log when it must hold only device readings (what these tests ingest). */
export async function storedReadings(location: string): Promise<ReadingEvent[]> {
  const events = await storedEvents(location);
  for (const e of events) expect(e.type).toBe("reading");
  return events as ReadingEvent[];
}

/** A location's head through the read API. */
export async function headOf(location: string): Promise<number> {
  return (await parsed(await api(locationPath(location)), locationResponse)).head;
}

/** Asserts a location stored nothing: head 0 and an empty log. */
export async function expectNothingStored(location: string): Promise<void> {
  expect(await headOf(location)).toBe(0);
  expect(await storedEvents(location)).toEqual([]);
}
