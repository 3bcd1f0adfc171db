import { readFileSync } from "node:fs";
import { z } from "zod";
import { formatIssues, locationName } from "../protocol";

export const TEMPERATURE_UNITS = ["C", "F"] as const;
export type TemperatureUnit = (typeof TEMPERATURE_UNITS)[number];

const pattern = z.string().min(1, "pattern must not be empty").transform((source, ctx) => {
  try {
    // Anchored: a pattern names whole device ids, never a substring of one.
    return new RegExp(`^(?:${source})$`);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `pattern is not a valid regular expression: ${(e as Error).message}` });
    return z.NEVER;
  }
});

const route = z
  .strictObject({
    /** A regular expression that must match the whole device id, e.g. "arduino.*". */
    pattern,
    location: locationName.optional(),
    temperatureUnit: z.enum(TEMPERATURE_UNITS, { error: 'temperatureUnit must be "C" or "F"' }).optional(),
  })
  .refine((r) => r.location !== undefined || r.temperatureUnit !== undefined, {
    error: "a route must set location, temperatureUnit or both",
  });

/** ROUTES_FILE: device-id patterns → location and temperature unit; the first matching route wins. */
export const routesFile = z.strictObject({ routes: z.array(route) }, { error: 'routes file must be {"routes":[…]}' });

export type Route = z.output<typeof route>;

/** Reads and validates a routes file; throws an Error whose message lists every problem. */
export function loadRoutes(path: string): Route[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = routesFile.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: ${formatIssues(parsed.error).join("; ")}`);
  return parsed.data.routes;
}

export const findRoute = (routes: readonly Route[], deviceId: string): Route | undefined =>
  routes.find((r) => r.pattern.test(deviceId));
