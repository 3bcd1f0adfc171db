import { Hono } from "hono";
import { z } from "zod";
import { deliveriesBody, locationName, type Command, type CommandsResponse, type DeliveriesResponse } from "../../protocol";
import type { AppEnv } from "../env";
import { readJsonBody } from "../json-body";
import { bearerSecret } from "../middleware/bearer-secret";
import { parseOr400 } from "../params";
import { directoryStub, locationStub } from "../stubs";

/** Commands per location per poll: the feed is a trickle (only alert changes issue commands). */
const PAGE = 100;
export const DELIVERIES_BODY_LIMIT = 256 * 1024;

/** The feed position: the last command seq handed out per location. */
const cursorState = z.record(locationName, z.number().int().nonnegative());
type CursorState = z.infer<typeof cursorState>;

const encodeCursor = (state: CursorState): string => btoa(JSON.stringify(state)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** An opaque cursor from a previous response (empty: from the beginning). */
const cursorParam = z
  .string()
  .max(16_384, "cursor is too long")
  .transform((s, ctx) => {
    if (s === "") return {};
    try {
      const json: unknown = JSON.parse(atob(s.replaceAll("-", "+").replaceAll("_", "/")));
      const parsed = cursorState.safeParse(json);
      if (parsed.success) return parsed.data;
    } catch {
      // fall through to the issue below
    }
    ctx.addIssue({ code: "custom", message: "cursor is not one this API issued; start over without it" });
    return z.NEVER;
  });

/**
 * The bridge's side of actions, guarded by the ingest token:
 * GET /api/v1/commands?cursor= gives the undelivered commands of every
 * location after the cursor; POST /api/v1/commands/deliveries reports which
 * ones the broker acknowledged, so they leave the feed and the log says so.
 */
export const commands = new Hono<AppEnv>()
  .use(bearerSecret("INGEST_TOKEN"))
  .get("/", async (c) => {
    const { cursor = {} } = parseOr400(z.object({ cursor: cursorParam.optional() }), c.req.query(), "commands query");
    const locations = await directoryStub(c.env).list();
    const pages = await Promise.all(
      locations.map(async (location) => ({
        location,
        commands: await locationStub(c.env, location).pendingCommands(cursor[location] ?? 0, PAGE),
      })),
    );
    const next: CursorState = { ...cursor };
    const out: Command[] = [];
    for (const page of pages) {
      for (const { deliveredAt: _, ...command } of page.commands) out.push({ location: page.location, ...command });
      const last = page.commands.at(-1);
      if (last) next[page.location] = last.seq;
    }
    return c.json({ commands: out, cursor: encodeCursor(next) } satisfies CommandsResponse);
  })
  .post("/deliveries", async (c) => {
    const { deliveries } = parseOr400(deliveriesBody, await readJsonBody(c.req.raw, DELIVERIES_BODY_LIMIT), "deliveries");
    const byLocation = new Map<string, { id: string; deliveredAt: number }[]>();
    for (const d of deliveries) {
      const list = byLocation.get(d.location) ?? [];
      list.push({ id: d.id, deliveredAt: Date.parse(d.deliveredAt) });
      byLocation.set(d.location, list);
    }
    const results = await Promise.all(
      [...byLocation].map(async ([location, list]) => ({ location, ...(await locationStub(c.env, location).recordDeliveries(location, list)) })),
    );
    return c.json({
      recorded: results.reduce((n, r) => n + r.recorded, 0),
      duplicates: results.reduce((n, r) => n + r.duplicates, 0),
      unknown: results.flatMap((r) => r.unknown.map((id) => ({ location: r.location, id }))),
    } satisfies DeliveriesResponse);
  });
