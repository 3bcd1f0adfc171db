import { describe, expect, it } from "vitest";
import { checkIngestEvent } from "../../../protocol";
import { OptionsError, readCli } from "../../../bridge/options-table";
import { AFTER_HOURS, SITES, World, busyness, localTime, moodAt, seededRandom, siteOf } from "../../../simulator/model";
import { BACKFILL_OPTIONS, backfillHelp, historyEvents, hourOfHistory, parseBackfillOptions } from "../../../simulator/backfill";
import { parseSimulatorOptions } from "../../../simulator/options";
import { deviceList } from "../../../simulator/simulator";

const HOUR = 3_600_000;
const DEVICES = deviceList("sim", ["MTC", "Malvern", "Paoli"], 9);
const at = (iso: string) => Date.parse(iso);

describe("each simulated site keeps its own local time", () => {
  it("reads hour, weekday and date in the site's zone, DST and half-hour zones included", () => {
    // Thursday 2026-12-03 19:00 UTC
    expect(localTime("Europe/London", at("2026-12-03T19:00:00Z"))).toEqual({ hour: 19, weekday: 4, date: "2026-12-03" });
    expect(localTime("America/New_York", at("2026-12-03T19:00:00Z"))).toEqual({ hour: 14, weekday: 4, date: "2026-12-03" });
    expect(localTime("America/New_York", at("2026-12-04T03:30:00Z"))).toEqual({ hour: 22.5, weekday: 4, date: "2026-12-03" });
    expect(localTime("Asia/Kolkata", at("2026-12-03T19:00:00Z"))).toEqual({ hour: 0.5, weekday: 5, date: "2026-12-04" });
    // London springs forward at 01:00 UTC on 2026-03-29: 00:59 GMT, then 02:00 BST.
    expect(localTime("Europe/London", at("2026-03-29T00:59:00Z")).hour).toBeCloseTo(0 + 59 / 60);
    expect(localTime("Europe/London", at("2026-03-29T01:00:00Z")).hour).toBe(2);
    // The minute cache must not leak one zone's answer into another's.
    expect(localTime("UTC", at("2026-03-29T01:00:00Z")).hour).toBe(1);
  });

  it("moods dip in the lunch and evening rush and return to the site's character at quiet hours", () => {
    for (const site of Object.values(SITES)) {
      expect(moodAt(site, 3)).toBeCloseTo(site.mood, 3);
      expect(moodAt(site, 12.75)).toBeLessThan(site.mood - 0.05);
      expect(moodAt(site, 17.5)).toBeLessThan(site.mood - 0.03);
      expect(moodAt(site, 9.5)).toBeGreaterThan(site.mood);
    }
    expect(moodAt(SITES.MTC!, 12.75)).toBeGreaterThan(moodAt(SITES.Paoli!, 12.75));
  });

  it("is busiest at lunch in opening hours and nearly idle when closed", () => {
    const mtc = SITES.MTC!; // Mon–Fri 08–18 in London
    expect(busyness(mtc, { hour: 12.5, weekday: 3, date: "" })).toBeCloseTo(1, 1);
    expect(busyness(mtc, { hour: 8.5, weekday: 3, date: "" })).toBeLessThan(0.5);
    expect(busyness(mtc, { hour: 18, weekday: 3, date: "" })).toBe(AFTER_HOURS);
    expect(busyness(mtc, { hour: 12.5, weekday: 0, date: "" })).toBe(AFTER_HOURS);
    expect(siteOf("Somewhere Else")).toBe(siteOf("Somewhere Else"));
    expect(siteOf("Somewhere Else").timeZone).toBe("UTC");
  });

  it("by default, each simulated device votes several times a minute, like a terminal at a busy site", () => {
    const o = parseSimulatorOptions({});
    const votesPerDeviceMinute = (o.rate * 60 * o.voteShare) / o.devices;
    expect(votesPerDeviceMinute).toBeGreaterThanOrEqual(2);
    expect(votesPerDeviceMinute).toBeLessThanOrEqual(6);
    // The quiet site stays one option away: about 4 votes an hour per device.
    const quiet = parseSimulatorOptions({ rate: "1", voteShare: "0.01" });
    expect((quiet.rate * 3600 * quiet.voteShare) / quiet.devices).toBeCloseTo(4, 0);
  });

  it("live votes follow the local hour: lower in Paoli's lunch rush than in its morning, MTC content throughout", () => {
    const mean = (location: string, localNoonUtc: string) => {
      const world = new World(seededRandom(3));
      let sum = 0;
      for (let i = 0; i < 20_000; i++) sum += world.reading("d", location, at(localNoonUtc), true).vote!;
      return sum / 20_000;
    };
    // Paoli is in New York: 17:45 UTC is 12:45 there in December, 14:30 UTC is 09:30.
    expect(mean("Paoli", "2026-12-03T17:45:00Z")).toBeLessThan(mean("Paoli", "2026-12-03T14:30:00Z") - 0.1);
    expect(mean("MTC", "2026-12-03T12:45:00Z")).toBeGreaterThan(0.65);
  });
});

describe("back-filled history", () => {
  const now = at("2026-12-03T19:07:30Z");
  const history = historyEvents(DEVICES, now - 14 * 24 * HOUR, now);
  const all = [...history.values()].flat();

  it("is valid ingest input dated in the past, oldest first per location, with unique ids", () => {
    for (const e of all) {
      const check = checkIngestEvent(e, now);
      expect(check.ok, JSON.stringify(check)).toBe(true);
      expect(e.occurredAt).toBeGreaterThanOrEqual(now - 14 * 24 * HOUR);
      expect(e.occurredAt).toBeLessThanOrEqual(now);
    }
    for (const events of history.values()) {
      expect(events.map((e) => e.occurredAt)).toEqual(events.map((e) => e.occurredAt).sort((a, b) => a - b));
    }
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    expect(all[0]!.id).toMatch(/^bf-[a-z0-9-]+-\d{8}T\d{2}-\d+$/);
  });

  it("keeps the volume sensible: a few tens of thousands of events, each device's climate every 15 minutes", () => {
    expect(all.length).toBeGreaterThan(15_000);
    expect(all.length).toBeLessThan(40_000);
    const climate = all.filter((e) => e.vote === undefined && e.deviceId === "sim-mtc-1");
    expect(climate.length).toBeGreaterThanOrEqual(14 * 24 * 4 - 1);
    expect(climate.length).toBeLessThanOrEqual(14 * 24 * 4 + 1);
  });

  it("has votes shaped by opening hours, in each site's own time zone", () => {
    for (const location of ["MTC", "Malvern", "Paoli"]) {
      const site = siteOf(location);
      const isOpen = (t: number) => busyness(site, localTime(site.timeZone, t)) > AFTER_HOURS;
      const votes = history.get(location)!.filter((e) => e.vote !== undefined);
      const openVotes = votes.filter((e) => isOpen(e.occurredAt)).length;
      let openHours = 0;
      for (let t = Math.ceil((now - 14 * 24 * HOUR) / HOUR) * HOUR; t < now; t += HOUR) if (isOpen(t + HOUR / 2)) openHours++;
      const closedHours = 14 * 24 - openHours;
      // An open hour sees several times the votes of a closed one; closed hours are not silent.
      expect(openVotes / openHours, location).toBeGreaterThan((4 * (votes.length - openVotes)) / closedHours);
      expect(votes.length - openVotes, location).toBeGreaterThan(0);
      expect(openVotes, location).toBeGreaterThan(votes.length / 2);
    }
    // MTC (London) is closed at weekends: a Saturday has its after-hours votes only, well under half a Thursday's.
    const votesOn = (date: string) => history.get("MTC")!.filter((e) => e.vote !== undefined && localTime("Europe/London", e.occurredAt).date === date).length;
    expect(votesOn("2026-11-26")).toBeGreaterThan(2 * votesOn("2026-11-28"));
  });

  it("gives every location votes in its last 60 minutes, so its score shows at once", () => {
    for (const [location, events] of history) {
      expect(events.filter((e) => e.vote !== undefined && e.occurredAt >= now - HOUR).length, location).toBeGreaterThan(0);
    }
  });

  it("is the same for the same hour whenever it is generated: a later run repeats the ids it shares with an earlier one", () => {
    const hour = at("2026-12-01T13:00:00Z");
    const mtc = DEVICES.filter((d) => d.location === "MTC");
    expect(hourOfHistory("MTC", mtc, hour)).toEqual(hourOfHistory("MTC", mtc, hour));
    const later = historyEvents(DEVICES, now - 14 * 24 * HOUR + 30 * 60_000, now + 30 * 60_000);
    const earlierById = new Map(all.map((e) => [e.id, e]));
    const shared = [...later.values()].flat().filter((e) => earlierById.has(e.id));
    expect(shared.length).toBeGreaterThan(all.length * 0.95);
    for (const e of shared) expect(e).toEqual(earlierById.get(e.id));
  });
});

describe("npm run backfill options", () => {
  const problems = (argv: string[], fallback?: string) => {
    try {
      const cli = readCli(BACKFILL_OPTIONS, argv, {});
      if (!cli.help) parseBackfillOptions(cli.input, fallback);
    } catch (e) {
      if (e instanceof OptionsError) return e.problems;
      throw e;
    }
    return [];
  };

  it("names each bad or missing option", () => {
    expect(problems(["--days", "0", "--api-url", "ftp://x", "--locations", "MTC,MTC"], "t")).toEqual([
      "--days: must be at least 1",
      expect.stringContaining("--api-url"),
      "--locations: locations must be distinct",
    ]);
    expect(problems(["--days", "91"], "t")).toEqual(["--days: must be at most 90"]);
    expect(problems([])).toEqual(["INGEST_TOKEN (--ingest-token): is required (or run npm start once: it writes one to .dev.vars)"]);
  });

  it("defaults to 14 days of the simulator's devices, the token from .dev.vars unless given", () => {
    expect(parseBackfillOptions({}, "from-dev-vars")).toMatchObject({ days: 14, ingestToken: "from-dev-vars", devices: 9, locations: ["MTC", "Malvern", "Paoli"] });
    expect(parseBackfillOptions({ ingestToken: "given" }, "from-dev-vars").ingestToken).toBe("given");
    for (const flag of ["--days", "--api-url", "--ingest-token", "--devices", "--locations"]) expect(backfillHelp()).toContain(flag);
  });
});
