/**
 * Time zones without a dependency: the runtime's Intl (full ICU in workerd
 * and Node) gives a zone's UTC offset at an instant; everything else here is
 * arithmetic on "local wall-clock milliseconds" (UTC ms + offset), which
 * behave like UTC dates, so Date.UTC / getUTC* read them.
 *
 * Every offset in the IANA database in use today is a multiple of 15
 * minutes (Asia/Kathmandu +5:45, Australia/Lord_Howe's +10:30/+11), and
 * transitions happen on those boundaries, so a UTC quarter hour always lies
 * in one local quarter hour: the calendar is summed from UTC quarter buckets.
 */

export const QUARTER_MS = 15 * 60_000;
export const HOUR_MS = 60 * 60_000;
export const DAY_MS = 24 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at `ms`, in minutes (east positive), straight from Intl. */
function offsetFromIntl(zone: string, ms: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(ms)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** Offsets by zone and UTC hour, each hour's four quarters. Bounded: cleared when it grows past this. */
const hourCache = new Map<string, Map<number, readonly [number, number, number, number]>>();
const CACHE_HOURS = 200_000;
let cachedHours = 0;

/**
 * The zone's UTC offset in minutes during the quarter hour holding `ms`.
 * Intl is asked twice per UTC hour (its first and last quarter) and cached:
 * equal answers mean no transition inside it (zones never change twice in an
 * hour); otherwise each quarter is asked.
 */
export function offsetAt(zone: string, ms: number): number {
  if (zone === "UTC") return 0;
  const hour = Math.floor(ms / HOUR_MS) * HOUR_MS;
  let byHour = hourCache.get(zone);
  if (!byHour) hourCache.set(zone, (byHour = new Map()));
  let quarters = byHour.get(hour);
  if (!quarters) {
    const first = offsetFromIntl(zone, hour);
    const last = offsetFromIntl(zone, hour + 3 * QUARTER_MS);
    quarters =
      first === last
        ? [first, first, first, last]
        : [first, offsetFromIntl(zone, hour + QUARTER_MS), offsetFromIntl(zone, hour + 2 * QUARTER_MS), last];
    if (cachedHours >= CACHE_HOURS) {
      hourCache.clear();
      cachedHours = 0;
      hourCache.set(zone, (byHour = new Map()));
    }
    byHour.set(hour, quarters);
    cachedHours++;
  }
  return quarters[Math.floor((ms - hour) / QUARTER_MS)]!;
}

/** Local wall-clock ms of the instant `ms` in `zone`. */
export const toLocal = (zone: string, ms: number): number => ms + offsetAt(zone, ms) * 60_000;

/** A calendar date as `YYYY-MM-DD` ↔ its day number (days since 1970-01-01). */
export const dayNumber = (date: string): number => Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;
export const dateOfDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** ISO weekday of a day number: Monday 1 … Sunday 7 (1970-01-01 was a Thursday). */
export const weekdayOf = (day: number): number => ((((day + 3) % 7) + 7) % 7) + 1;

/** The Monday starting the ISO week that holds `day`. */
export const mondayOf = (day: number): number => day - weekdayOf(day) + 1;

/** ISO week name (`2026-W49`) of the week starting on Monday `monday`: the year is the one its Thursday falls in. */
export function isoWeekName(monday: number): string {
  const thursday = new Date((monday + 3) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((monday + 3 - Date.UTC(year, 0, 1) / DAY_MS) / 7) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** `±HH:MM` for an offset in minutes. */
export function offsetText(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const m = Math.abs(minutes);
  return `${sign}${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** ISO 8601 of an instant as the zone's wall clock with its offset: `2026-10-25T01:00:00+01:00` (with `.sss` when `millis`). */
export function localIso(zone: string, ms: number, millis = false): string {
  const offset = offsetAt(zone, ms);
  return new Date(ms + offset * 60_000).toISOString().slice(0, millis ? 23 : 19) + offsetText(offset);
}

/**
 * Widest span of UTC instants whose local date can be `day` in any zone:
 * offsets run from −12:00 to +14:00. Callers fetch this and keep the quarters
 * whose local date matches.
 */
export const MAX_OFFSET_AHEAD_MS = 14 * HOUR_MS;
export const MAX_OFFSET_BEHIND_MS = 12 * HOUR_MS;

/**
 * The first instant of local day `day` in `zone` (the first UTC quarter whose
 * local date is `day`; a day starting in a gap starts at the transition).
 */
export function dayStartUtc(zone: string, day: number): number {
  // Guess with the offset near local midnight, then step by quarters to the exact boundary (at most a few steps).
  let t = day * DAY_MS - offsetAt(zone, day * DAY_MS) * 60_000;
  t = Math.floor(t / QUARTER_MS) * QUARTER_MS;
  const localDay = (ms: number) => Math.floor(toLocal(zone, ms) / DAY_MS);
  while (localDay(t) >= day) t -= QUARTER_MS;
  while (localDay(t) < day) t += QUARTER_MS;
  return t;
}
