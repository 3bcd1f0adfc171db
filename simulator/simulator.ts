import { randomInt, randomUUID } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { SYSTEM_PROPERTIES, parsePropertyBag } from "../protocol";
import { createLogger, type Logger } from "../bridge/log";
import { parseSimulatorOptions, type SimulatorOptions, type SimulatorOptionsInput } from "./options";
import { World, celsiusToFahrenheit, seededRandom, type Reading } from "./model";

export interface SimulatedDevice {
  id: string;
  location: string;
}

export interface ReceivedCommand {
  deviceId: string;
  topic: string;
  payload: string;
  /** The `$.mid` of the topic's property bag, when it has one. */
  messageId?: string;
}

export interface Simulator {
  readonly devices: readonly SimulatedDevice[];
  readonly options: SimulatorOptions;
  /** `commands`: commands acted on; `repeatedCommands`: dropped because their `$.mid` had been seen. */
  stats(): { published: number; acknowledged: number; commands: number; repeatedCommands: number };
  /** Resolves when --count or --duration is reached (never, without either). */
  readonly finished: Promise<void>;
  /** Stops publishing, waits for outstanding acknowledgements (bounded) and disconnects every device. */
  stop(): Promise<void>;
}

export interface SimulatorDependencies {
  log?: Logger;
  /** Called for every command a device acts on (repeats of a `$.mid` it already had are dropped first). */
  onCommand?: (command: ReceivedCommand) => void;
}

/** At most this many publishes awaiting PUBACK, all devices together; beyond it the simulator waits. */
const MAX_IN_FLIGHT = 1_000;

/** `{prefix}-{location slug}-{n}`: sim-mtc-1, sim-malvern-1, … (round-robin over the locations). */
export function deviceList(prefix: string, locations: readonly string[], count: number): SimulatedDevice[] {
  const perLocation = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const location = locations[i % locations.length]!;
    const n = (perLocation.get(location) ?? 0) + 1;
    perLocation.set(location, n);
    return { id: `${prefix}-${slug(location)}-${n}`, location };
  });
}

export const slug = (location: string) => location.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "loc";
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A ROUTES_FILE for the bridge: these devices → their locations, °F in original mode. */
export function routesFor(options: Pick<SimulatorOptions, "devicePrefix" | "locations" | "mode">): { routes: object[] } {
  return {
    routes: options.locations.map((location) => ({
      pattern: `${escapeRegExp(options.devicePrefix)}-${escapeRegExp(slug(location))}-[0-9]+`,
      location,
      ...(options.mode === "original" ? { temperatureUnit: "F" } : {}),
    })),
  };
}

/** One telemetry message: the topic and body a device of this mode sends. */
export function telemetryMessage(device: SimulatedDevice, reading: Reading, options: Pick<SimulatorOptions, "mode" | "locationIn">, now: number): { topic: string; body: string } {
  if (options.mode === "original") {
    // Exactly the original device's body: °F, all three readings, its name; no message id, no timestamp.
    return {
      topic: `devices/${device.id}/messages/events/`,
      body: JSON.stringify({ temperature: celsiusToFahrenheit(reading.temperature), humidity: reading.humidity, vote: reading.vote ?? 0.5, device: device.id }),
    };
  }
  const body = { ...reading, ts: new Date(now).toISOString(), ...(options.locationIn === "body" ? { location: device.location } : {}) };
  return { topic: azureTelemetryTopic(device, options.locationIn), body: JSON.stringify(body) };
}

/** IoT Hub's telemetry topic with a fresh `$.mid`, JSON content type and encoding, and the location in the bag unless told otherwise. */
export function azureTelemetryTopic(device: SimulatedDevice, locationIn: SimulatorOptions["locationIn"] = "bag"): string {
  const bag = [`%24.mid=${randomUUID()}`, "%24.ct=application%2Fjson", "%24.ce=utf-8"];
  if (locationIn === "bag") bag.push(`location=${encodeURIComponent(device.location)}`);
  return `devices/${device.id}/messages/events/${bag.join("&")}`;
}

/**
 * Starts the simulated devices: one MQTT connection each (client id = device
 * id, as IoT Hub requires), publishing at `rate` messages per second in all,
 * optionally listening for commands on their devicebound topics.
 */
export async function startSimulator(input: SimulatorOptionsInput, deps: SimulatorDependencies = {}): Promise<Simulator> {
  const options = parseSimulatorOptions(input);
  const log = deps.log ?? createLogger({ level: options.logLevel });
  const seed = options.seed ?? randomInt(2 ** 31 - 1);
  const random = seededRandom(seed);
  const world = new World(random);
  const devices = deviceList(options.devicePrefix, options.locations, options.devices);
  const counters = { published: 0, acknowledged: 0, commands: 0, repeatedCommands: 0 };

  const clients = await Promise.all(devices.map((device) => connectDevice(device, options, log, counters, deps.onCommand)));
  log.info("devices connected", { devices: devices.length, locations: options.locations, mode: options.mode, rate: options.rate, seed });

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = Date.now();
  let backlogWarned = false;

  const tick = () => {
    if (stopped) return;
    const now = Date.now();
    const elapsed = (now - started) / 1000;
    const durationDone = options.duration > 0 && elapsed >= options.duration;
    let due = Math.floor(elapsed * options.rate) + 1 - counters.published;
    if (options.count > 0) due = Math.min(due, options.count - counters.published);
    const room = MAX_IN_FLIGHT - (counters.published - counters.acknowledged);
    if (due > room && !backlogWarned) {
      backlogWarned = true;
      log.warn("the broker acknowledges slower than the rate; publishing as fast as it allows");
    }
    for (let i = 0; i < Math.min(due, room) && !durationDone; i++) {
      const index = Math.floor(random() * devices.length);
      const device = devices[index]!;
      const withVote = options.mode === "original" || random() < options.voteShare;
      const message = telemetryMessage(device, world.reading(device.id, device.location, now, withVote), options, now);
      counters.published++;
      clients[index]!.publish(message.topic, message.body, { qos: options.qos as 0 | 1 }, (error) => {
        if (error) log.warn("publish failed", { deviceId: device.id, error });
        else counters.acknowledged++;
      });
      log.debug("published", { deviceId: device.id, topic: message.topic, body: message.body });
    }
    if (durationDone || (options.count > 0 && counters.published >= options.count)) {
      finish();
      return;
    }
    // Publish in small steps at high rates, one message per step at low ones.
    timer = setTimeout(tick, Math.max(5, Math.min(1000 / options.rate, 1000)));
  };
  tick();

  let stopping: Promise<void> | undefined;
  return {
    devices,
    options,
    stats: () => ({ ...counters }),
    finished,
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        const deadline = Date.now() + 5_000;
        while (counters.acknowledged < counters.published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await Promise.all(clients.map((c) => c.endAsync()));
        log.info("devices disconnected", counters);
      })()),
  };
}

async function connectDevice(
  device: SimulatedDevice,
  options: SimulatorOptions,
  log: Logger,
  counters: { commands: number; repeatedCommands: number },
  onCommand: ((command: ReceivedCommand) => void) | undefined,
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(options.mqttUrl, {
    clientId: device.id,
    // A device keeps its session, so commands sent while it was offline still reach it.
    clean: false,
    protocolVersion: options.protocolVersion,
    reconnectPeriod: 1_000,
    ...(options.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3_600 } } : {}),
    ...(options.mqttUsername === undefined ? {} : { username: options.mqttUsername }),
    ...(options.mqttPassword === undefined ? {} : { password: options.mqttPassword }),
  });
  client.on("error", (error) => log.warn("device connection error", { deviceId: device.id, error }));
  if (options.listenCommands) {
    const led = new DeviceLed(device.id, log);
    await client.subscribeAsync(`devices/${device.id}/messages/devicebound/#`, { qos: 1 });
    client.on("message", (topic, payload) => {
      const command = readCommand(device.id, topic, payload.toString());
      if (!command) return;
      if (!led.act(command)) {
        counters.repeatedCommands++;
        return;
      }
      counters.commands++;
      onCommand?.(command.command);
    });
  }
  return client;
}

/**
 * A command as a device reads it from `devices/{id}/messages/devicebound/{bag}`:
 * its `$.mid`, and a line like `sim-mtc-1 LED ON (command ~cmd-12)` ("ON" and
 * "OFF" switch the LED, as on the original device). Undefined for another
 * device's topic.
 */
export function readCommand(deviceId: string, topic: string, payload: string): { command: ReceivedCommand; line: string } | undefined {
  const prefix = `devices/${deviceId}/messages/devicebound/`;
  if (!topic.startsWith(prefix)) return undefined;
  const bag = parsePropertyBag(topic.slice(prefix.length));
  const messageId = bag.ok ? bag.bag[SYSTEM_PROPERTIES.messageId] : undefined;
  const ref = `(command ${messageId ?? "without $.mid"})`;
  const what = payload === "ON" || payload === "OFF" ? `LED ${payload}` : `received ${JSON.stringify(payload.slice(0, 100))}`;
  return { command: { deviceId, topic, payload, ...(messageId === undefined ? {} : { messageId }) }, line: `${deviceId} ${what} ${ref}` };
}

/** Message ids a device remembers, to drop a command delivered twice (QoS 1 is at least once). */
const REMEMBERED_IDS = 100;

/** A simulated device's LED: acts on each command once by its `$.mid`, and logs what it does. */
export class DeviceLed {
  private readonly seen: string[] = [];

  constructor(
    private readonly deviceId: string,
    private readonly log: Logger,
  ) {}

  /** False (and nothing done) for a `$.mid` seen recently. */
  act({ command, line }: { command: ReceivedCommand; line: string }): boolean {
    const id = command.messageId;
    if (id !== undefined && this.seen.includes(id)) {
      this.log.info(`${this.deviceId} dropped a repeated command (command ${id})`, { deviceId: this.deviceId, commandId: id });
      return false;
    }
    if (id !== undefined) {
      this.seen.push(id);
      if (this.seen.length > REMEMBERED_IDS) this.seen.shift();
    }
    this.log.info(line, { ...command, ...(command.payload === "ON" || command.payload === "OFF" ? { led: command.payload } : {}) });
    return true;
  }
}
