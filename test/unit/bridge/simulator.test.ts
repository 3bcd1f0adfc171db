import { describe, expect, it } from "vitest";
import { OptionsError, readCli } from "../../../bridge/options-table";
import { fahrenheitToCelsius, normalize } from "../../../bridge/normalize";
import { toDeviceMessage } from "../../../bridge/mqtt/telemetry-source";
import { findRoute, routesFile } from "../../../bridge/routes";
import { parseTelemetryTopic } from "../../../protocol";
import { World, seededRandom } from "../../../simulator/model";
import { SIMULATOR_OPTIONS, parseSimulatorOptions, simulatorHelp } from "../../../simulator/options";
import { deviceList, routesFor, telemetryMessage } from "../../../simulator/simulator";

const normalizeMessage = (topic: string, body: string, routes = routesFile.parse({ routes: [] }).routes) => {
  const t = parseTelemetryTopic(topic);
  if (!t.ok) throw new Error(t.error);
  return normalize(toDeviceMessage(t.topic.deviceId, t.topic.bag, Buffer.from(body)), {
    routes,
    defaultLocation: undefined,
    defaultTemperatureUnit: "C",
    maxMessageBytes: 65536,
    newId: () => "assigned-id",
    now: Date.now(),
  });
};

describe("simulator", () => {
  it("names devices {prefix}-{location}-{n}, round-robin over the locations", () => {
    expect(deviceList("sim", ["MTC", "Malvern", "Paoli"], 5)).toEqual([
      { id: "sim-mtc-1", location: "MTC" },
      { id: "sim-malvern-1", location: "Malvern" },
      { id: "sim-paoli-1", location: "Paoli" },
      { id: "sim-mtc-2", location: "MTC" },
      { id: "sim-malvern-2", location: "Malvern" },
    ]);
    expect(deviceList("x", ["Main Hall"], 1)[0]!.id).toBe("x-main-hall-1");
  });

  it("azure mode: IoT Hub topic with $.mid, content type and location; the bridge turns it into a valid event", () => {
    const device = { id: "sim-mtc-1", location: "MTC" };
    const now = Date.UTC(2025, 0, 15, 12);
    const m = telemetryMessage(device, { vote: 1, temperature: 21.4, humidity: 40.2 }, { mode: "azure", locationIn: "bag" }, now);
    expect(m.topic).toMatch(/^devices\/sim-mtc-1\/messages\/events\/%24\.mid=[0-9a-f-]{36}&%24\.ct=application%2Fjson&%24\.ce=utf-8&location=MTC$/);
    expect(JSON.parse(m.body)).toEqual({ vote: 1, temperature: 21.4, humidity: 40.2, ts: "2025-01-15T12:00:00.000Z" });
    const r = normalizeMessage(m.topic, m.body);
    expect(r.ok && r.event).toMatchObject({ deviceId: "sim-mtc-1", location: "MTC", vote: 1, occurredAt: now });
    const parsed = parseTelemetryTopic(m.topic);
    expect(r.ok && r.event.id).toBe(parsed.ok ? parsed.topic.bag["$.mid"] : null);

    const inBody = telemetryMessage(device, { temperature: 21.4, humidity: 40.2 }, { mode: "azure", locationIn: "body" }, now);
    expect(inBody.topic).not.toContain("location=");
    expect(JSON.parse(inBody.body).location).toBe("MTC");
  });

  it("original mode: the original device's exact body (°F, no id, no timestamp); its routes convert it back", () => {
    const device = { id: "sim-paoli-3", location: "Paoli" };
    const m = telemetryMessage(device, { vote: 0.5, temperature: 25.8, humidity: 34.1 }, { mode: "original", locationIn: "bag" }, Date.now());
    expect(m.topic).toBe("devices/sim-paoli-3/messages/events/");
    expect(m.body).toBe('{"temperature":78.4,"humidity":34.1,"vote":0.5,"device":"sim-paoli-3"}');
    const routes = routesFile.parse(routesFor({ devicePrefix: "sim", locations: ["MTC", "Paoli"], mode: "original" })).routes;
    expect(findRoute(routes, "sim-paoli-3")).toMatchObject({ location: "Paoli", temperatureUnit: "F" });
    expect(findRoute(routes, "sim-paoli-3x")).toBeUndefined();
    const r = normalizeMessage(m.topic, m.body, routes);
    expect(r.ok && r.event).toMatchObject({ id: "assigned-id", location: "Paoli", temperature: fahrenheitToCelsius(78.4), vote: 0.5 });
  });

  it("produces plausible readings, the same for the same seed, with votes averaging near the location's mood", () => {
    const run = (seed: number) => {
      const world = new World(seededRandom(seed));
      return Array.from({ length: 5_000 }, (_, i) => world.reading(`d${i % 3}`, "MTC", Date.UTC(2025, 0, 15, 15), true));
    };
    const a = run(42);
    expect(run(42)).toEqual(a);
    expect(run(43)).not.toEqual(a);
    for (const r of a) {
      expect([0, 0.5, 1]).toContain(r.vote);
      expect(r.temperature).toBeGreaterThan(15);
      expect(r.temperature).toBeLessThan(30);
      expect(r.humidity).toBeGreaterThanOrEqual(0);
      expect(r.humidity).toBeLessThanOrEqual(100);
    }
    const mean = a.reduce((s, r) => s + r.vote!, 0) / a.length;
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.95);
  });

  it("validates its options, naming each bad one; --help lists every flag", () => {
    const problems = (argv: string[]) => {
      try {
        const cli = readCli(SIMULATOR_OPTIONS, argv, {});
        if (!cli.help) parseSimulatorOptions(cli.input);
      } catch (e) {
        if (e instanceof OptionsError) return e.problems;
        throw e;
      }
      return [];
    };
    expect(problems(["--devices", "0", "--rate", "fast", "--mode", "loud", "--locations", "MTC,a/b", "--qos", "2"])).toEqual([
      "--devices: must be at least 1",
      expect.stringContaining("--locations: location may hold only"),
      "--rate: must be a number",
      "--mode: must be azure or original",
      "--qos: must be at most 1",
    ]);
    expect(problems(["--locations", "MTC,MTC"])).toEqual(["--locations: locations must be distinct"]);
    const bare = readCli(SIMULATOR_OPTIONS, ["--print-routes", "--mode", "original", "--listen-commands", "false"], {});
    expect(!bare.help && parseSimulatorOptions(bare.input)).toMatchObject({ printRoutes: true, mode: "original", listenCommands: false });
    expect(parseSimulatorOptions({ mqttUrl: "mqtt://h:1", rate: "0.5" })).toMatchObject({ rate: 0.5, devices: 9, locations: ["MTC", "Malvern", "Paoli"], mode: "azure", listenCommands: true });
    const help = simulatorHelp();
    for (const flag of ["--mqtt-url", "--devices", "--locations", "--rate", "--count", "--duration", "--mode", "--location-in", "--print-routes", "--listen-commands"]) expect(help).toContain(flag);
  });
});
