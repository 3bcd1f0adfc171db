import { fromCelsius, type TemperatureUnit, type Vote } from "./units";

/** What every empty reading shows: never "NaN", never a misleading 0. */
export const NONE = "—";

/** The hourly score with two decimals; "—" with no votes (the window's `score` is unrounded). */
export const formatScore = (score: number | null): string => (score === null ? NONE : score.toFixed(2));

/** A temperature stored in °C, shown in the viewer's unit with one decimal. */
export const formatTemperature = (celsius: number | null | undefined, unit: TemperatureUnit): string =>
  celsius === null || celsius === undefined ? NONE : formatDegrees(fromCelsius(celsius, unit), unit);

/** A temperature already in `unit`. */
export const formatDegrees = (value: number, unit: TemperatureUnit): string => `${value.toFixed(1)} °${unit}`;

export const formatHumidity = (percent: number | null | undefined): string =>
  percent === null || percent === undefined ? NONE : `${percent.toFixed(1)} %`;

export const formatCount = (n: number): string => n.toLocaleString("en");

const VOTE_LABELS: Record<Vote, string> = { 1: "happy", 0.5: "neutral", 0: "sad" };

/** The talk's three buttons: a word (for screen readers and colour) and the number. */
export function describeVote(vote: Vote): { label: string; value: string } {
  return { label: VOTE_LABELS[vote], value: String(vote) };
}

const DAY_KEY = { year: "numeric", month: "2-digit", day: "2-digit" } as const;

/**
 * An instant in the viewer's local time: the time alone when it falls on the
 * same local day as `now`, else date and time. `timeZone` is for tests.
 */
export function formatLocalTime(iso: string, now: number, timeZone?: string): string {
  const at = new Date(iso);
  const day = new Intl.DateTimeFormat("en-CA", { ...DAY_KEY, timeZone });
  const sameDay = day.format(at) === day.format(now);
  return new Intl.DateTimeFormat(undefined, {
    ...(sameDay ? {} : { month: "short", day: "numeric" }),
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZone,
  }).format(at);
}

/** The hour an hourly bucket starts at, in local time ("14:00"). */
export const formatHour = (iso: string, timeZone?: string): string =>
  new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(new Date(iso));

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago": how old a fact is, at a glance. */
export function formatAge(iso: string | null, now: number): string {
  if (iso === null) return "never";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** A colour for the score: happy at the original rule's 0.7 and above, sad below 0.4. */
export type Tone = "happy" | "neutral" | "sad" | "none";
export const scoreTone = (score: number | null | undefined): Tone =>
  score === null || score === undefined ? "none" : score >= 0.7 ? "happy" : score >= 0.4 ? "neutral" : "sad";
