import { randomUUID } from "node:crypto";
import mqtt from "mqtt";
import { z } from "zod";
import { alertsResponse, deviceId, locationName, type ActiveAlert } from "../protocol";
import { OptionsError, decimal, helpText as renderHelp, int, parseOptions, url, type OptionSpec, type OptionsInput, type ParsedOptions } from "../bridge/options-table";
import { SIMULATOR_OPTIONS, parseSimulatorOptions } from "./options";
import { azureTelemetryTopic, readCommand, slug, type ReceivedCommand } from "./simulator";

/**
 * Pressing a device's button by hand: publishes the vote as the device would
 * (IoT Hub topic with `$.mid` and the location), then watches the device's
 * devicebound topic for the command the rules send back.
 */

export const BUTTONS = { happy: 1, neutral: 0.5, sad: 0 } as const;
export type Button = keyof typeof BUTTONS;

export const PRESS_OPTIONS = {
  button: {
    flag: "--button",
    group: "Press",
    help: "happy, neutral or sad (usually given as the first argument).",
    schema: z.enum(["happy", "neutral", "sad"], { error: "must be happy, neutral or sad" }),
  },
  device: { flag: "--device", group: "Press", help: "The device whose button it is, e.g. sim-mtc-1 (a device of `npm run simulate`).", schema: deviceId },
  location: {
    flag: "--location",
    group: "Press",
    help: "The device's location. Default: read from a simulator device id {prefix}-{location}-{n} over the simulator's default locations (sim-mtc-1 → MTC).",
    schema: locationName,
  },
  times: {
    flag: "--times",
    group: "Press",
    help: "How many presses. 3 is the default rule's minimum number of votes; the device's own earlier votes in the last hour count too.",
    default: "3",
    schema: int(1, 100),
  },
  wait: {
    flag: "--wait",
    group: "Press",
    help: "Seconds to watch the device's devicebound topic for the command that follows (0: do not watch).",
    default: "5",
    schema: decimal(0, 600),
  },
  apiUrl: {
    flag: "--api-url",
    group: "Press",
    help: "The worker, asked about the device's alert when no command comes.",
    default: "http://127.0.0.1:8787",
    schema: url(["http:", "https:"]),
  },
  mqttUrl: SIMULATOR_OPTIONS.mqttUrl,
  mqttUsername: SIMULATOR_OPTIONS.mqttUsername,
  mqttPassword: SIMULATOR_OPTIONS.mqttPassword,
  protocolVersion: SIMULATOR_OPTIONS.protocolVersion,
} satisfies Record<string, OptionSpec>;

export type PressOptions = Omit<ParsedOptions<typeof PRESS_OPTIONS>, "button" | "device" | "location"> & { button: Button; device: string; location: string };
export type PressOptionsInput = OptionsInput<typeof PRESS_OPTIONS>;

/** The location of a simulator device `{prefix}-{slug(location)}-{n}` among the simulator's default locations. */
export function simulatorLocationOf(device: string): string | undefined {
  const locations = parseSimulatorOptions({}).locations;
  return locations.find((location) => new RegExp(`^[A-Za-z0-9_.-]+-${slug(location)}-[0-9]+$`).test(device));
}

/** Validates (defaults filled in; the location read from the device id when not given). Throws OptionsError naming each bad option. */
export function parsePressOptions(input: PressOptionsInput): PressOptions {
  const { values, problems } = parseOptions(PRESS_OPTIONS, input);
  if (input.button === undefined) problems.unshift("name the button: happy, neutral or sad (npm run press -- sad --device sim-mtc-1)");
  if (input.device === undefined) problems.push("--device: is required (the device whose button it is, e.g. sim-mtc-1)");
  const location = values.location ?? (values.device === undefined ? undefined : simulatorLocationOf(values.device));
  if (problems.length === 0 && location === undefined) {
    problems.push(`--location: is required for ${values.device}, which is not a simulator device named {prefix}-{location}-{n} (sim-mtc-1 is at MTC)`);
  }
  if (problems.length) throw new OptionsError(problems);
  return { ...values, button: values.button!, device: values.device!, location: location! };
}

/** `press sad --device x` → `--button sad --device x`: the button may come first, without its flag. */
export function buttonFirst(argv: readonly string[]): string[] {
  const [first, ...rest] = argv;
  return first !== undefined && !first.startsWith("-") ? ["--button", first, ...rest] : [...argv];
}

export const pressHelp = (): string =>
  renderHelp(PRESS_OPTIONS, [
    "Usage: npm run press -- <happy|neutral|sad> --device <id> [--location <location>] [--times N] [--mqtt-url <url>]",
    "",
    "Presses a device's button: publishes its vote to the broker as the device would (IoT Hub topic with",
    "$.mid and the location), then watches the device's devicebound topic for the command the rules send",
    "back. It connects with a client id of its own, so the simulator's connection for that device stays up.",
  ]);

export interface PressResult {
  published: number;
  /** The first command on the device's devicebound topic after the presses, if one came within --wait. */
  command: ReceivedCommand | undefined;
}

/** Presses the button `times` times (each a QoS 1 publish), then waits for a command; `say` gets lines for a person. */
export async function pressButton(options: PressOptions, say: (line: string) => void): Promise<PressResult> {
  const client = await mqtt.connectAsync(options.mqttUrl, {
    // Not the device id: a broker lets one connection per client id, and the simulator's device holds it.
    clientId: `press-${options.device}-${randomUUID().slice(0, 8)}`.slice(0, 128),
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    protocolVersion: options.protocolVersion,
    ...(options.mqttUsername === undefined ? {} : { username: options.mqttUsername }),
    ...(options.mqttPassword === undefined ? {} : { password: options.mqttPassword }),
  });
  try {
    let resolveCommand!: (c: ReceivedCommand) => void;
    const commandArrived = new Promise<ReceivedCommand>((resolve) => (resolveCommand = resolve));
    if (options.wait > 0) {
      await client.subscribeAsync(`devices/${options.device}/messages/devicebound/#`, { qos: 1 });
      client.on("message", (topic, payload) => {
        const read = readCommand(options.device, topic, payload.toString());
        if (!read) return;
        say(read.line);
        resolveCommand(read.command);
      });
    }
    const device = { id: options.device, location: options.location };
    for (let i = 0; i < options.times; i++) {
      await client.publishAsync(azureTelemetryTopic(device), JSON.stringify({ vote: BUTTONS[options.button], ts: new Date().toISOString() }), { qos: 1 });
    }
    say(`${options.device} pressed ${options.button} ${options.times === 1 ? "once" : `${options.times} times`} (location ${options.location}, broker ${options.mqttUrl})`);
    if (options.wait === 0) return { published: options.times, command: undefined };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const command = await Promise.race([commandArrived, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), options.wait * 1000)))]);
    clearTimeout(timer);
    if (!command) say(await noCommandReason(options));
    return { published: options.times, command };
  } finally {
    await client.endAsync();
  }
}

/** Why no command came, from the worker's view of the device's alerts (or why that view is unavailable). */
async function noCommandReason(options: PressOptions): Promise<string> {
  const head = `No command for ${options.device} within ${options.wait} s.`;
  let alerts: ActiveAlert[];
  try {
    const res = await fetch(`${options.apiUrl}/api/v1/locations/${encodeURIComponent(options.location)}/alerts`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    alerts = alertsResponse.parse(await res.json()).alerts.filter((a) => a.deviceId === options.device);
  } catch (e) {
    return `${head} The worker at ${options.apiUrl} could not say why (${(e as Error).message}): is the stack running (npm start)?`;
  }
  if (alerts.length > 0) {
    const a = alerts[0]!;
    return `${head} Its alert (rule ${a.ruleId}) has been raised since ${a.raisedAt}: its command went out then, and the next comes when the alert clears (more happy votes).`;
  }
  return `${head} It has no alert: its score over the last 60 minutes is not past the rule's threshold yet (its earlier votes count too). Press again.`;
}
