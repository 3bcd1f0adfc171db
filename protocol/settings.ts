import { z } from "zod";
import { locationName } from "./ids";

/**
 * A location's own calendar: the time zone its days and hours are counted in,
 * when it is open, what people call it, and when its daily digest goes out.
 * PUT …/settings replaces them (a `settings-set` log entry); GET reads them.
 */

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Opening hours and the digest time are on quarter hours: the calendar's resolution (see domain/calendar/zone.ts). */
export const clock = (name: string, allow24: boolean) =>
  z
    .string({ error: `${name} must be a string "HH:MM"` })
    .regex(/^\d{2}:\d{2}$/, { error: `${name} must be "HH:MM" (24-hour clock)`, abort: true })
    .refine((s) => {
      const [h, m] = s.split(":").map(Number) as [number, number];
      return m < 60 && (h < 24 || (allow24 && h === 24 && m === 0));
    }, { error: `${name} must be a time from 00:00 to ${allow24 ? "24:00" : "23:59"}`, abort: true })
    .refine((s) => Number(s.slice(3)) % 15 === 0, `${name} must be on a quarter hour (:00, :15, :30 or :45)`);

/** Minutes since local midnight of "HH:MM". */
export const clockMinutes = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** One open span of a day, `[start, end)`; `24:00` ends at midnight. Spans past midnight are written as two days' spans. */
const openSpan = z.tuple([clock("opening time", false), clock("closing time", true)], { error: 'a span is ["HH:MM", "HH:MM"]' });

/** The spans of one weekday: each starts before it ends, sorted or not, none overlapping. An empty list: closed all day. */
const daySpans = z
  .array(openSpan)
  .max(12, "at most 12 spans a day")
  .superRefine((spans, ctx) => {
    spans.forEach(([start, end], i) => {
      if (clockMinutes(start) >= clockMinutes(end)) ctx.addIssue({ code: "custom", path: [i], message: `${start}–${end} is reversed or empty: the opening time must be before the closing time (split spans past midnight over two days)` });
    });
    const sorted = spans.map(([s, e], i) => ({ s: clockMinutes(s), e: clockMinutes(e), i, text: `${s}–${e}` })).filter((x) => x.s < x.e).sort((a, b) => a.s - b.s);
    for (let k = 1; k < sorted.length; k++) {
      const prev = sorted[k - 1]!;
      const cur = sorted[k]!;
      if (cur.s < prev.e) ctx.addIssue({ code: "custom", path: [cur.i], message: `${cur.text} overlaps ${prev.text}` });
    }
  });

/** Weekday → open spans. A weekday left out is closed all day; `openingHours` left out altogether means always open. */
export const openingHours = z.strictObject(
  Object.fromEntries(WEEKDAYS.map((d) => [d, daySpans.optional()])) as Record<Weekday, z.ZodOptional<typeof daySpans>>,
  { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown weekday ${issue.keys.map((k) => `"${k}"`).join(", ")}: use ${WEEKDAYS.join(", ")}` : "openingHours must be an object of weekdays") },
);
export type OpeningHours = z.infer<typeof openingHours>;

/** Whether the runtime knows `zone` as an IANA name (`UTC` included; offsets such as `+05:00` are refused). */
export function isKnownZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const timeZone = z
  .string({ error: "timeZone must be a string (an IANA name such as Europe/London)" })
  .max(64, "timeZone must be at most 64 characters")
  .refine(isKnownZone, { error: (issue) => `unknown time zone ${JSON.stringify(issue.input)}: use an IANA name such as Europe/London or America/New_York` });

export const settingsBody = z.strictObject(
  {
    timeZone,
    openingHours: openingHours.optional(),
    displayName: z.string().trim().min(1, "displayName must not be empty").max(80, "displayName must be at most 80 characters").optional(),
    /** Local time the daily digest goes out (the notifications read it). */
    digestAt: clock("digestAt", false).optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}` : "the body must be a JSON object") },
);
export type LocationSettings = z.infer<typeof settingsBody>;

/** A location never given settings: UTC, always open. */
export const DEFAULT_SETTINGS: LocationSettings = { timeZone: "UTC" };

/** GET/PUT …/settings; `seq` is the log entry that set them (null: the defaults). */
export const settingsResponse = z.object({
  location: locationName,
  settings: settingsBody,
  seq: z.number().int().positive().nullable(),
});
export type SettingsResponse = z.infer<typeof settingsResponse>;
