/**
 * Plausible readings for simulated devices: each location has a mood (the
 * mean vote) and a climate that drift slowly; temperature follows the time of
 * day. Deterministic for a given seed.
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

/**
 * The talk's three sites get their own character; other names get one derived
 * from the name. Against the default rule (a device's score below 0.7 lights
 * its LED), MTC is content and its LEDs mostly stay off, Malvern and Paoli are
 * not and theirs mostly come on.
 */
const PRESETS: Record<string, Climate> = {
  MTC: { mood: 0.82, temperature: 22, humidity: 42 },
  Malvern: { mood: 0.62, temperature: 21, humidity: 48 },
  Paoli: { mood: 0.5, temperature: 23, humidity: 38 },
};

function derived(name: string): Climate {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  const r = seededRandom(h);
  return { mood: 0.4 + r() * 0.4, temperature: 19 + r() * 5, humidity: 30 + r() * 25 };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round1 = (v: number) => Math.round(v * 10) / 10;

export class World {
  /** Per location: its character (what its mood returns to) and its current climate. */
  private readonly sites = new Map<string, { character: Climate; current: Climate }>();
  private readonly deviceOffsets = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  /** One reading of `deviceId` at `location`, at time `now`. */
  reading(deviceId: string, location: string, now: number, withVote: boolean): Reading {
    const { character, current: climate } = this.site(location);
    // Slow drift within believable bounds. The mood is pulled back to the location's character (by 1 % of the
    // gap per reading, so it wanders about ±0.07), so a site keeps its character however long the simulation runs.
    climate.mood = clamp(climate.mood + (character.mood - climate.mood) * 0.01 + this.gaussian() * 0.01, 0.15, 0.95);
    climate.humidity = clamp(climate.humidity + this.gaussian() * 0.1, 20, 70);

    const hour = (now / 3_600_000) % 24;
    const daily = 1.5 * Math.sin((2 * Math.PI * (hour - 9)) / 24); // warmest mid-afternoon UTC
    const temperature = round1(climate.temperature + daily + this.offset(deviceId) + this.gaussian() * 0.15);
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

  private site(location: string): { character: Climate; current: Climate } {
    let site = this.sites.get(location);
    if (!site) {
      const character = PRESETS[location] ?? derived(location);
      this.sites.set(location, (site = { character, current: { ...character } }));
    }
    return site;
  }

  /** Each sensor reads a little high or low, consistently. */
  private offset(deviceId: string): number {
    let o = this.deviceOffsets.get(deviceId);
    if (o === undefined) this.deviceOffsets.set(deviceId, (o = (this.random() - 0.5) * 1.0));
    return o;
  }

  private gaussian(): number {
    const u = 1 - this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }
}

export const celsiusToFahrenheit = (c: number): number => round1((c * 9) / 5 + 32);
