import { describe, expect, it } from "vitest";
import { OptionsError, readCli } from "../../../bridge/options-table";
import { fahrenheitToCelsius, normalize } from "../../../bridge/normalize";
import { toDeviceMessage } from "../../../bridge/mqtt/telemetry-source";
import { findRoute, routesFile } from "../../../bridge/routes";
import { parseTelemetryTopic } from "../../../protocol";
import { World, seededRandom } from "../../../simulator/model";
import { SIMULATOR_OPTIONS, parseSimulatorOptions, simulatorHelp } from "../../../simulator/options";
import { PRESS_OPTIONS, buttonFirst, parsePressOptions, simulatorLocationOf } from "../../../simulator/buttons";
import { DeviceLed, deviceList, readCommand, routesFor, telemetryMessage } from "../../../simulator/simulator";
import { createLogger } from "../../../bridge/log";

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

  it("keeps each site's character over a long run: its mood wanders but returns (MTC content, Paoli not)", () => {
    const world = new World(seededRandom(7));
    const mean = (location: string) => {
      let sum = 0;
      const n = 50_000;
      for (let i = 0; i < n; i++) sum += world.reading("d", location, Date.UTC(2025, 0, 15), true).vote!;
      return sum / n;
    };
    expect(mean("MTC")).toBeGreaterThan(0.76);
    expect(mean("MTC")).toBeLessThan(0.88);
    expect(mean("Paoli")).toBeLessThan(0.6);
  });

  it("reads a command as a device does: its $.mid and an LED line; other devices' topics are not its own", () => {
    expect(readCommand("sim-mtc-1", "devices/sim-mtc-1/messages/devicebound/%24.mid=~cmd-12", "ON")).toEqual({
      command: { deviceId: "sim-mtc-1", topic: "devices/sim-mtc-1/messages/devicebound/%24.mid=~cmd-12", payload: "ON", messageId: "~cmd-12" },
      line: "sim-mtc-1 LED ON (command ~cmd-12)",
    });
    expect(readCommand("d", "devices/d/messages/devicebound/", "blink")!.line).toBe('d received "blink" (command without $.mid)');
    expect(readCommand("d", "devices/d2/messages/devicebound/", "ON")).toBeUndefined();
  });

  it("a device acts on a command once per $.mid and logs its LED", () => {
    const lines: { msg: string; led?: string }[] = [];
    const led = new DeviceLed("sim-mtc-1", createLogger({ write: (l) => lines.push(JSON.parse(l)) }));
    const on = readCommand("sim-mtc-1", "devices/sim-mtc-1/messages/devicebound/%24.mid=~cmd-12", "ON")!;
    expect(led.act(on)).toBe(true);
    expect(led.act(on)).toBe(false); // QoS 1 may deliver it twice
    expect(led.act(readCommand("sim-mtc-1", "devices/sim-mtc-1/messages/devicebound/%24.mid=~cmd-14", "OFF")!)).toBe(true);
    expect(lines.map((l) => [l.msg, l.led])).toEqual([
      ["sim-mtc-1 LED ON (command ~cmd-12)", "ON"],
      ["sim-mtc-1 dropped a repeated command (command ~cmd-12)", undefined],
      ["sim-mtc-1 LED OFF (command ~cmd-14)", "OFF"],
    ]);
  });
});

describe("npm run press", () => {
  const parse = (argv: string[]) => {
    const cli = readCli(PRESS_OPTIONS, buttonFirst(argv), {});
    if (cli.help) throw new Error("unexpected --help");
    return parsePressOptions(cli.input);
  };
  const problems = (argv: string[]) => {
    try {
      parse(argv);
    } catch (e) {
      if (e instanceof OptionsError) return e.problems;
      throw e;
    }
    return [];
  };

  it("takes the button first, and reads a simulator device's location from its id", () => {
    expect(parse(["sad", "--device", "sim-mtc-1"])).toMatchObject({ button: "sad", device: "sim-mtc-1", location: "MTC", times: 3, wait: 5, mqttUrl: "mqtt://127.0.0.1:1883" });
    expect(parse(["happy", "--device", "x-malvern-12", "--times", "8", "--mqtt-url", "mqtt://h:1"])).toMatchObject({ location: "Malvern", times: 8, mqttUrl: "mqtt://h:1" });
    expect(parse(["--button", "neutral", "--device", "arduino1010", "--location", "Lab"])).toMatchObject({ button: "neutral", location: "Lab" });
    expect(simulatorLocationOf("sim-paoli-3")).toBe("Paoli");
    expect(simulatorLocationOf("sim-paoli")).toBeUndefined();
  });

  it("names every bad or missing option", () => {
    expect(problems(["--device", "sim-mtc-1"])).toEqual(["name the button: happy, neutral or sad (npm run press -- sad --device sim-mtc-1)"]);
    expect(problems(["sad"])).toEqual(["--device: is required (the device whose button it is, e.g. sim-mtc-1)"]);
    expect(problems(["meh", "--device", "a b", "--times", "0", "--wait", "-1"])).toEqual([
      "--button: must be happy, neutral or sad",
      "--device: deviceId has a character outside [A-Za-z0-9-.%_*?!(),:=@$']",
      "--times: must be at least 1",
      "--wait: must be at least 0",
    ]);
    expect(problems(["sad", "--device", "arduino1010"])).toEqual([
      "--location: is required for arduino1010, which is not a simulator device named {prefix}-{location}-{n} (sim-mtc-1 is at MTC)",
    ]);
    expect(problems(["sad", "--device", "sim-mtc-1", "--colour", "red"])).toEqual(["unknown option --colour (see --help)"]);
  });
});
