import { z } from "zod";
import { EVENTS_PAGE, LOCATIONS_PAGE, deviceId, formatIssues, locationName } from "../protocol";
import { DEVICES_PAGE } from "../protocol/devices";
import { instant } from "../protocol/time";
import { decodeBase64Url, encodeBase64Url } from "./base64url";
import { invalid } from "./errors";

/** Parses with `schema` or throws the contract's 400 with every issue. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid(`invalid ${what}`, parsed.error);
  return parsed.data;
}

export const parseLocation = (value: string | undefined): string =>
  parseOr400(locationName, value, "location");

export const parseDeviceId = (value: string | undefined): string => parseOr400(deviceId, value, "device id");

/** A non-negative integer from a query string. */
const seqParam = z
  .string()
  .regex(/^\d{1,15}$/, "must be a non-negative integer")
  .transform(Number);

export const eventsQuery = z.object({
  after: seqParam.default(0),
  limit: seqParam
    .pipe(z.number().min(1, "must be at least 1").max(EVENTS_PAGE.maxLimit, `must be at most ${EVENTS_PAGE.maxLimit}`))
    .default(EVENTS_PAGE.defaultLimit),
});

/**
 * A list's cursor: base64url of the UTF-8 JSON `{"after": key}`, the last key
 * of the previous page (a location name, a device id). Opaque to clients; any
 * key the contract allows round-trips, and anything else is a 400.
 */
const encodeCursor = (after: string): string => encodeBase64Url(new TextEncoder().encode(JSON.stringify({ after })));

export const encodeLocationsCursor = encodeCursor;
export const encodeDevicesCursor = encodeCursor;

/** Why a cursor was refused, after this prefix: a client should start over without it. */
const NOT_OURS = "not a cursor this API issued (start over without it)";

/** The cursor query parameter of a list keyed by `key` (the schema of the `after` it carries). */
const cursorParam = (key: z.ZodType<string>) => {
  const payload = z.strictObject({ after: key });
  return z
    .string()
    .max(512, "must be at most 512 characters")
    .transform((text, ctx) => {
      const refuse = (why: string) => {
        ctx.addIssue({ code: "custom", message: `${NOT_OURS}: ${why}` });
        return z.NEVER;
      };
      const bytes = decodeBase64Url(text);
      if (bytes === null || bytes.length === 0) return refuse("not base64url");
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
      } catch {
        return refuse("not UTF-8 JSON");
      }
      const parsed = payload.safeParse(json);
      if (!parsed.success) return refuse(formatIssues(parsed.error).join("; "));
      return parsed.data.after;
    });
};

/** A page size from 1 to `page.maxLimit`, `page.defaultLimit` when absent. */
const pageLimit = (page: { defaultLimit: number; maxLimit: number }) =>
  seqParam.pipe(z.number().min(1, "must be at least 1").max(page.maxLimit, `must be at most ${page.maxLimit}`)).default(page.defaultLimit);

export const locationsQuery = z.object({
  limit: pageLimit(LOCATIONS_PAGE),
  cursor: cursorParam(locationName).optional(),
});

/** `GET /api/v1/devices?location=&cursor=&limit=` */
export const devicesQuery = z.object({
  location: locationName.optional(),
  limit: pageLimit(DEVICES_PAGE),
  cursor: cursorParam(deviceId).optional(),
});

export const liveQuery = z.object({ since: seqParam.optional() });

/** ISO 8601 or epoch ms in a query string. */
export const instantParam = z.string().transform((s, ctx) => {
  const parsed = instant.safeParse(/^\d+$/.test(s) ? Number(s) : s);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
  return z.NEVER;
});
