import { z } from "zod";
import { locationName } from "../protocol";
import { LOG_LEVELS } from "../bridge/log";
import {
  MQTT_URL_PROTOCOLS,
  mqttProtocolVersion,
  OptionsError,
  bool,
  decimal,
  helpText as renderHelp,
  int,
  parseOptions,
  text,
  url,
  type OptionSpec,
  type OptionsInput,
  type ParsedOptions,
} from "../bridge/options-table";

export const SIMULATOR_MODES = ["azure", "original"] as const;
export const LOCATION_IN = ["bag", "body", "none"] as const;

/** The simulator's options (flags; the broker settings also from the environment, like the bridge's). */
export const SIMULATOR_OPTIONS = {
  mqttUrl: { env: "MQTT_URL", group: "Broker", help: "Broker URL.", default: "mqtt://127.0.0.1:1883", schema: url(MQTT_URL_PROTOCOLS) },
  mqttUsername: { env: "MQTT_USERNAME", group: "Broker", help: "User name.", schema: text },
  mqttPassword: { env: "MQTT_PASSWORD", group: "Broker", help: "Password.", schema: text, secret: true },
  protocolVersion: {
    flag: "--protocol-version",
    group: "Broker",
    help: "MQTT `3.1.1` or `5`.",
    default: "3.1.1",
    schema: mqttProtocolVersion,
  },
  devices: { flag: "--devices", group: "Devices", help: "How many devices, spread round-robin over the locations (one MQTT connection each).", default: "9", schema: int(1, 10_000) },
  locations: {
    flag: "--locations",
    group: "Devices",
    help: "Comma-separated location names.",
    default: "MTC,Malvern,Paoli",
    schema: z
      .string()
      .transform((s) => s.split(",").map((l) => l.trim()).filter(Boolean))
      .pipe(z.array(locationName).min(1, "name at least one location"))
      .refine((l) => new Set(l).size === l.length, { error: "locations must be distinct" }),
  },
  devicePrefix: {
    flag: "--device-prefix",
    group: "Devices",
    help: "Device ids are {prefix}-{location}-{n}, e.g. sim-mtc-1.",
    default: "sim",
    schema: text.regex(/^[A-Za-z0-9_.-]+$/, "may hold only letters, digits, '_', '.', '-'"),
  },
  rate: { flag: "--rate", group: "Traffic", help: "Messages per second, all devices together.", default: "1.5", schema: decimal(0.001, 100_000) },
  count: { flag: "--count", group: "Traffic", help: "Stop after this many messages (0: no limit).", default: "0", schema: int(0, 1_000_000_000) },
  duration: { flag: "--duration", group: "Traffic", help: "Stop after this many seconds (0: run until stopped).", default: "0", schema: decimal(0, 31_536_000) },
  mode: {
    flag: "--mode",
    group: "Traffic",
    help: "`azure`: IoT Hub topics with $.mid, °C and a timestamp; `original`: the original device's exact body (°F, no message id, no timestamp), which needs a route with temperatureUnit F (see --print-routes).",
    default: "azure",
    schema: z.enum(SIMULATOR_MODES, { error: "must be azure or original" }),
  },
  locationIn: {
    flag: "--location-in",
    group: "Traffic",
    help: "azure mode: where the location travels: the property `bag`, the `body`, or `none` (then the bridge's routes decide).",
    default: "bag",
    schema: z.enum(LOCATION_IN, { error: "must be bag, body or none" }),
  },
  voteShare: {
    flag: "--vote-share",
    group: "Traffic",
    help: "azure mode: share of messages that carry a vote (all carry temperature and humidity). At the defaults each device sends 10 messages a minute and votes 3 times a minute, like a terminal at a busy site. `--rate 1 --vote-share 0.01` is a quiet site (9 devices each voting about 4 times an hour), where a few presses of `npm run press` move a simulated device's score.",
    default: "0.3",
    schema: decimal(0, 1),
  },
  qos: { flag: "--qos", group: "Traffic", help: "QoS of the telemetry: 0 or 1 (IoT Hub allows no 2).", default: "1", schema: int(0, 1) },
  seed: { flag: "--seed", group: "Traffic", help: "Seed of the random readings, for a repeatable run (default: random).", schema: int(0, 2 ** 31 - 1) },
  listenCommands: {
    flag: "--listen-commands",
    group: "Commands",
    help: "Subscribe to each device's devicebound topic and log the commands it receives (`sim-mtc-1 LED ON (command ~cmd-12)`); a repeated `$.mid` is dropped.",
    default: "true",
    schema: bool,
  },
  printRoutes: {
    flag: "--print-routes",
    group: "Other",
    help: "Print a ROUTES_FILE for the bridge that maps these devices to their locations (°F in original mode) and exit.",
    default: "false",
    schema: bool,
  },
  logLevel: { env: "LOG_LEVEL", group: "Other", help: "debug, info, warn or error.", default: "info", schema: z.enum(LOG_LEVELS, { error: "must be debug, info, warn or error" }) },
} satisfies Record<string, OptionSpec>;

export type SimulatorOptions = ParsedOptions<typeof SIMULATOR_OPTIONS>;
export type SimulatorOptionsInput = OptionsInput<typeof SIMULATOR_OPTIONS>;

/** Validates the options (defaults filled in); throws OptionsError naming each bad one. */
export function parseSimulatorOptions(input: SimulatorOptionsInput): SimulatorOptions {
  const { values, problems } = parseOptions(SIMULATOR_OPTIONS, input);
  if (problems.length) throw new OptionsError(problems);
  return values;
}

export const simulatorHelp = (): string =>
  renderHelp(SIMULATOR_OPTIONS, [
    "Usage: npm run simulate -- [options]",
    "",
    "Simulated voting devices with temperature and humidity sensors, publishing to an MQTT broker",
    "the way Azure IoT Hub devices do. Ctrl-C stops them.",
  ]);
