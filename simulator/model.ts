/**
 * Plausible readings for simulated devices: each location has a mood (the
 * mean vote) and a climate that drift slowly; the mood and the temperature
 * follow the site's local time of day. Deterministic for a given seed.
 */

export type Vote = 0 | 0.5 | 1;

export interface Reading {
  vote?: Vote;
  /** °C */
  temperature: number;
  humidity: number;
}

/** mulberry32: small, fast, good enough for simulation. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Climate {
  mood: number;
  temperature: number;
  humidity: number;
}

/** Opening hours by local weekday (0 Sunday … 6 Saturday): [open, close) in local hours, or null when closed. */
export type OpeningHours = readonly ([number, number] | null)[];

/** A simulated site: its character, where it is, when it opens and how busy it gets. */
export interface Site extends Climate {
  /** IANA time zone: the site's local time of day drives its moods, its temperature and (in back-fills) its traffic. */
  timeZone: string;
  opening: OpeningHours;
  /** How strongly the time of day moves its mood (1: the lunch and evening rush cost about 0.15 and 0.1). */
  swing: number;
  /** Votes in its busiest open hour, all devices together (back-filled history). */
  peakVotesPerHour: number;
}

const weekdays = (hours: [number, number]): OpeningHours => [null, hours, hours, hours, hours, hours, null];

/**
 * The simulator's own site table. The talk's three sites get their own
 * character, place and hours; other names get one derived from the name.
 * Against the default rule (a device's score below 0.7 lights its LED), MTC is
 * content and its LEDs mostly stay off, Malvern and Paoli are not and theirs
 * mostly come on. The worker knows none of this: a location's time zone there
 * is its own setting.
 */
export const SITES: Readonly<Record<string, Site>> = {
  MTC: { mood: 0.82, temperature: 22, humidity: 42, timeZone: "Europe/London", opening: weekdays([8, 18]), swing: 0.6, peakVotesPerHour: 70 },
  Malvern: {
    mood: 0.62,
    temperature: 21,
    humidity: 48,
    timeZone: "America/New_York",
    opening: [null, [7, 21], [7, 21], [7, 21], [7, 21], [7, 21], [8, 18]],
    swing: 1,
    peakVotesPerHour: 50,
  },
  Paoli: {
    mood: 0.5,
    temperature: 23,
    humidity: 38,
    timeZone: "America/New_York",
    opening: [[10, 17], [9, 20], [9, 20], [9, 20], [9, 20], [9, 20], [9, 20]],
    swing: 1.2,
    peakVotesPerHour: 40,
  },
};

/** FNV-1a of a string: a stable seed for whatever belongs to that name. */
export function hashString(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

function derived(name: string): Site {
  const r = seededRandom(hashString(name));
  return {
    mood: 0.4 + r() * 0.4,
    temperature: 19 + r() * 5,
    humidity: 30 + r() * 25,
    timeZone: "UTC",
    opening: Array.from({ length: 7 }, (): [number, number] => [8, 20]),
    swing: 1,
    peakVotesPerHour: 40,
  };
}

const derivedSites = new Map<string, Site>();

/** The simulator's site of that name (derived from the name when it is not in SITES). */
export function siteOf(location: string): Site {
  const preset = SITES[location];
  if (preset) return preset;
  let site = derivedSites.get(location);
  if (!site) derivedSites.set(location, (site = derived(location)));
  return site;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round1 = (v: number) => Math.round(v * 10) / 10;

export interface LocalTime {
  /** Fractional hour, 0 to 24. */
  hour: number;
  /** 0 Sunday … 6 Saturday. */
  weekday: number;
  /** YYYY-MM-DD */
  date: string;
}

const zones = new Map<string, { format: Intl.DateTimeFormat; minute: number; local: LocalTime }>();
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * Local time of day in `timeZone` at `at`, to the minute. The last answer per
 * zone is kept for its minute: formatting costs microseconds, and the
 * simulator asks for every message.
 */
export function localTime(timeZone: string, at: number): LocalTime {
  const minute = Math.floor(at / 60_000);
  let zone = zones.get(timeZone);
  if (zone?.minute === minute) return zone.local;
  if (!zone) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    zones.set(timeZone, (zone = { format, minute: NaN, local: { hour: 0, weekday: 0, date: "" } }));
  }
  const part: Record<string, string> = {};
  for (const p of zone.format.formatToParts(minute * 60_000)) part[p.type] = p.value;
  zone.minute = minute;
  zone.local = { hour: Number(part.hour) + Number(part.minute) / 60, weekday: WEEKDAYS.indexOf(part.weekday!), date: `${part.year}-${part.month}-${part.day}` };
  return zone.local;
}

/** A smooth bump of height 1 centred on `centre` (hours), about `width` hours wide. */
const bump = (hour: number, centre: number, width: number) => Math.exp(-(((hour - centre) / width) ** 2));

/**
 * What a site's mood tends to at a local hour: its character, a little better
 * in the morning, worse in the lunch and evening rush (queues), scaled by the
 * site's swing. Quiet hours sit at the character itself.
 */
export function moodAt(site: Site, localHour: number): number {
  const daily = 0.05 * bump(localHour, 9.5, 1.5) - 0.15 * bump(localHour, 12.75, 1) - 0.1 * bump(localHour, 17.5, 1.2);
  return clamp(site.mood + site.swing * daily, 0.15, 0.95);
}

/** How busy a closed site still is, against its busiest hour: staff and passers-by at the terminal by the door. */
export const AFTER_HOURS = 0.12;

/**
 * How busy a site is at a local time, from AFTER_HOURS (closed) to 1 (its
 * busiest hour): open hours start at 0.3, with a lunch peak and a smaller
 * late-afternoon one.
 */
export function busyness(site: Site, local: LocalTime): number {
  const hours = site.opening[local.weekday];
  if (!hours || local.hour < hours[0] || local.hour >= hours[1]) return AFTER_HOURS;
  return Math.min(1, 0.3 + 0.7 * bump(local.hour, 12.5, 1.5) + 0.4 * bump(local.hour, 17, 1.2));
}

export class World {
  /** Per location: its current climate (the site's mood drifts around the target of the local hour). */
  private readonly climates = new Map<string, Climate>();

  /** `moodOffset`: added to every site's mood target (a back-fill gives each local day its own). */
  constructor(
    private readonly random: () => number,
    private readonly moodOffset: (location: string, localDate: string) => number = () => 0,
  ) {}

  /** One reading of `deviceId` at `location`, at time `now`. */
  reading(deviceId: string, location: string, now: number, withVote: boolean): Reading {
    const site = siteOf(location);
    const local = localTime(site.timeZone, now);
    const target = clamp(moodAt(site, local.hour) + this.moodOffset(location, local.date), 0.15, 0.95);
    let climate = this.climates.get(location);
    if (!climate) this.climates.set(location, (climate = { mood: target, temperature: site.temperature, humidity: site.humidity }));
    // Slow drift within believable bounds. The mood is pulled towards the site's target for the local hour (by 1 %
    // of the gap per reading, so it wanders about ±0.07 around it): a site keeps its character however long the
    // simulation runs, and its rush hours show.
    climate.mood = clamp(climate.mood + (target - climate.mood) * 0.01 + this.gaussian() * 0.01, 0.15, 0.95);
    climate.humidity = clamp(climate.humidity + this.gaussian() * 0.1, 20, 70);

    const daily = 1.5 * Math.sin((2 * Math.PI * (local.hour - 9)) / 24); // warmest mid-afternoon, local time
    const temperature = round1(climate.temperature + daily + deviceOffset(deviceId) + this.gaussian() * 0.15);
    const humidity = round1(clamp(climate.humidity + this.gaussian() * 0.5, 0, 100));
    return withVote ? { vote: this.vote(climate.mood), temperature, humidity } : { temperature, humidity };
  }

  /** Happy with probability m², sad (1−m)², neutral otherwise: the mean vote is the mood m. */
  private vote(mood: number): Vote {
    const r = this.random();
    if (r < mood * mood) return 1;
    if (r < mood * mood + (1 - mood) * (1 - mood)) return 0;
    return 0.5;
  }

  private gaussian(): number {
    const u = 1 - this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }
}

/** Each sensor reads a little high or low (within ±0.5 °C), always the same for the same device id. */
const deviceOffset = (deviceId: string): number => hashString(deviceId) / 2 ** 32 - 0.5;

export const celsiusToFahrenheit = (c: number): number => round1((c * 9) / 5 + 32);
