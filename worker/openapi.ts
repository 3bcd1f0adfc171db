import { z } from "zod";
import { errorBody } from "../protocol";
import { API_ROUTES, type ApiRoute } from "./openapi-routes";

type JsonSchema = Record<string, unknown>;

/** zod → JSON Schema 2020-12 (OpenAPI 3.1's dialect), as the request is written (`input`) or the answer read (`output`). */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  // Refinements and transforms have no JSON Schema form: the document shows the shape, the worker checks the rest.
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

const SECURITY = { ingest: "ingestToken", admin: "adminToken" } as const;
/** A read: open while VIEWER_TOKEN is unset; else the viewer token, the session cookie, or a share key for that location. */
const VIEWER_SECURITY = [{}, { viewerToken: [] }, { session: [] }, { shareKey: [] }, { shareKeyQuery: [] }];

const json = (schema: JsonSchema) => ({ "application/json": { schema } });
const error = (description: string) => ({ description, content: json({ $ref: "#/components/schemas/Error" }) });

function operation(route: ApiRoute): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(route.params ?? {})) {
    parameters.push({ name, in: "path", required: true, schema: jsonSchema(schema, "input") });
  }
  if (route.query) {
    const query = jsonSchema(route.query, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: "query", required: query.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest });
    }
  }

  const responses: Record<string, unknown> = {};
  if (route.response instanceof z.ZodType) {
    responses["200"] = { description: "OK", content: json(jsonSchema(route.response, "output")) };
  } else {
    const r = route.response;
    responses[String(r.status)] =
      r.status === 101
        ? { description: r.description, ...(r.schema ? { "x-frames": jsonSchema(r.schema, "output") } : {}) }
        : r.schema === undefined && r.contentType === undefined
          ? { description: r.description }
          : { description: r.description, content: { [r.contentType ?? "application/json"]: r.schema ? { schema: jsonSchema(r.schema, "output") } : {} } };
  }
  if (route.params || route.query || route.body) responses["400"] = error("Invalid parameters or body: `issues` lists each problem");
  if (route.auth === "viewer") {
    responses["401"] = error("VIEWER_TOKEN is set and no valid viewer token, session or share key came with the request (or the share key expired)");
    responses["403"] = error("A share key for another location, or (sockets) a page from an origin not allowed");
    responses["429"] = error("Too many requests from this address: wait Retry-After seconds");
    responses["503"] = error("VIEWER_TOKEN or SHARE_SECRET is set but too short or equal to another secret");
  } else if (route.auth !== "none") {
    responses["401"] = error("Missing or wrong bearer token");
    responses["503"] = error(`The ${route.auth === "ingest" ? "INGEST_TOKEN" : "ADMIN_TOKEN"} secret is not configured, shorter than 32 characters or equal to another secret`);
    if (route.auth === "ingest") responses["429"] = error("Too many ingest requests for this token: wait Retry-After seconds");
  }
  if (route.maxBodyBytes !== undefined) responses["413"] = error(`Body larger than ${route.maxBodyBytes} bytes`);
  for (const [status, when] of Object.entries(route.errors ?? {})) {
    responses[status] = typeof when === "string" ? error(when) : { description: when.description, content: json(jsonSchema(when.schema, "output")) };
  }

  return {
    operationId: `${route.method}${route.path.replace(/^\/api/, "").replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: route.auth === "none" ? [] : route.auth === "viewer" ? VIEWER_SECURITY : [{ [SECURITY[route.auth]]: [] }],
    ...(parameters.length ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: true, content: json(jsonSchema(route.body, "input")) } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of every route in API_ROUTES. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) (paths[route.path] ??= {})[route.method] = operation(route);
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "happy-hub",
      version: "1",
      description:
        "Devices vote and report climate; the bridge posts them to ingest; one event-sourced log per location serves reads, live sockets and rules. Every error answers `{\"error\",\"issues\"}`.",
    },
    tags: [
      { name: "service" },
      { name: "ingest", description: "The bridge's door (ingest token)" },
      { name: "read", description: "Reads and live sockets (open while VIEWER_TOKEN is unset)" },
      { name: "access", description: "Viewer sessions and share links" },
      { name: "actions", description: "Rules, alerts" },
      { name: "calendar", description: "Each location's own calendar (its settings' timeZone, UTC until set); openOnly counts only quarter hours inside its opening hours" },
      { name: "admin", description: "Operations (admin token)" },
      { name: "devices", description: "The device registry (admin token)" },
      { name: "bridge", description: "The bridge's command feed (ingest token)" },
    ],
    components: {
      securitySchemes: {
        ingestToken: { type: "http", scheme: "bearer", description: "The INGEST_TOKEN secret (the bridge)" },
        adminToken: { type: "http", scheme: "bearer", description: "The ADMIN_TOKEN secret (operators)" },
        viewerToken: { type: "http", scheme: "bearer", description: "The VIEWER_TOKEN secret (reads, when set)" },
        session: { type: "apiKey", in: "cookie", name: "hh_session", description: "The session cookie POST /api/v1/session sets" },
        shareKey: { type: "http", scheme: "bearer", description: "A share key (POST …/share) for the one location it names" },
        shareKeyQuery: { type: "apiKey", in: "query", name: "key", description: "A share key as ?key= (the dashboard's socket)" },
      },
      schemas: { Error: jsonSchema(errorBody, "output") },
    },
    paths,
  };
}
