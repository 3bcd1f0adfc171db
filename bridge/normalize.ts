import {
  LOCATION_PROPERTY,
  checkIngestEvent,
  deviceId as deviceIdSchema,
  deviceMessageBody,
  eventId,
  formatIssues,
  type IngestEventInput,
} from "../protocol";
import { findRoute, type Route, type TemperatureUnit } from "./routes";

/** A device message as any source delivers it, before it becomes an ingest event. */
export interface DeviceMessage {
  deviceId: string;
  /** `$.mid` (MQTT) or `message-id` (IoT Hub): the event's id when present. */
  messageId?: string;
  contentType?: string;
  contentEncoding?: string;
  correlationId?: string;
  /** Application properties, `location` included. */
  properties: Record<string, string>;
  /** Raw bytes, or a value the source already decoded from JSON (Event Hubs does). */
  body: Uint8Array | { json: unknown };
  /** When the hub or the bridge received it: the event's time when the body has no `ts`. */
  receivedAt: number;
  /** The id to use without `messageId` when the source can derive a stable one. */
  fallbackId?: string;
}

/** Why a message was dead-lettered; also the `reason` label of the metric. */
export const DEAD_LETTER_REASONS = [
  "topic",
  "device-id",
  "empty",
  "too-large",
  "content-type",
  "encoding",
  "json",
  "body",
  "message-id",
  "location",
  "event",
  "rejected",
  "undeliverable",
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export type Normalized =
  | { ok: true; event: IngestEventInput }
  | { ok: false; reason: DeadLetterReason; errors: string[] };

export interface NormalizeContext {
  routes: readonly Route[];
  defaultLocation: string | undefined;
  defaultTemperatureUnit: TemperatureUnit;
  maxMessageBytes: number;
  /** A fresh id (UUIDv7) for a message that carries none. */
  newId: () => string;
  now: number;
}

const fail = (reason: DeadLetterReason, ...errors: string[]): Normalized => ({ ok: false, reason, errors });

/**
 * Turns a device message into the ingest event of the contract, or says why
 * it cannot be one. Everything the worker would refuse is caught here, so a
 * bad message is dead-lettered at once instead of retried.
 */
export function normalize(message: DeviceMessage, ctx: NormalizeContext): Normalized {
  const device = deviceIdSchema.safeParse(message.deviceId);
  if (!device.success) return fail("device-id", ...formatIssues(device.error));

  const json = decodeBody(message, ctx.maxMessageBytes);
  if (!json.ok) return json;
  const body = deviceMessageBody.safeParse(json.value);
  if (!body.success) return fail("body", ...formatIssues(body.error));

  let id: string;
  if (message.messageId !== undefined) {
    const mid = eventId.safeParse(message.messageId);
    if (!mid.success) return fail("message-id", ...formatIssues(mid.error).map((e) => `message id: ${e}`));
    id = mid.data;
  } else {
    id = message.fallbackId ?? ctx.newId();
  }

  const route = findRoute(ctx.routes, message.deviceId);
  const location = message.properties[LOCATION_PROPERTY] ?? body.data.location ?? route?.location ?? ctx.defaultLocation;
  if (location === undefined) {
    return fail(
      "location",
      "no location: set the `location` property or body field, a route in ROUTES_FILE, or DEFAULT_LOCATION",
    );
  }
  const unit = route?.temperatureUnit ?? ctx.defaultTemperatureUnit;
  const { vote, temperature, humidity, ts } = body.data;

  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.properties)) if (k !== LOCATION_PROPERTY) properties[k] = v;
  if (message.correlationId !== undefined) properties.correlationId = message.correlationId;

  const event: IngestEventInput = {
    id,
    deviceId: message.deviceId,
    location,
    // Epoch ms (the contract takes it as well as ISO 8601): cheaper to check here and at the worker.
    occurredAt: ts ?? message.receivedAt,
    ...(vote === undefined ? {} : { vote }),
    ...(temperature === undefined ? {} : { temperature: unit === "F" ? fahrenheitToCelsius(temperature) : temperature }),
    ...(humidity === undefined ? {} : { humidity }),
    ...(Object.keys(properties).length ? { properties } : {}),
  };
  const check = checkIngestEvent(event, ctx.now);
  if (!check.ok) return fail("event", ...check.errors);
  return { ok: true, event };
}

/** °F → °C, to a thousandth of a degree (finer than any sensor, free of float noise). */
export const fahrenheitToCelsius = (f: number): number => Math.round(((f - 32) * 5000) / 9) / 1000;

const JSON_TYPE = /^(application|text)\/([\w.+-]+\+)?json$/;

/** A decoder per content encoding; `fatal` so bad bytes are an error, not U+FFFD. */
const decoders = new Map<string, TextDecoder>();

function decodeBody(message: DeviceMessage, maxBytes: number): { ok: true; value: unknown } | Extract<Normalized, { ok: false }> {
  if (!(message.body instanceof Uint8Array)) return { ok: true, value: message.body.json };
  const bytes = message.body;
  if (bytes.byteLength === 0) return { ok: false, reason: "empty", errors: ["body is empty"] };
  if (bytes.byteLength > maxBytes) {
    return { ok: false, reason: "too-large", errors: [`body is ${bytes.byteLength} bytes; the limit is ${maxBytes} (MAX_MESSAGE_BYTES)`] };
  }
  if (message.contentType !== undefined) {
    const type = message.contentType.split(";")[0]!.trim().toLowerCase();
    if (!JSON_TYPE.test(type)) {
      return { ok: false, reason: "content-type", errors: [`content type "${message.contentType}" is not JSON`] };
    }
  }
  const label = (message.contentEncoding ?? "utf-8").trim().toLowerCase();
  let decoder = decoders.get(label);
  if (!decoder) {
    try {
      decoder = new TextDecoder(label, { fatal: true });
    } catch {
      return { ok: false, reason: "encoding", errors: [`content encoding "${message.contentEncoding}" is not supported`] };
    }
    decoders.set(label, decoder);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: "encoding", errors: [`body is not valid ${label}`] };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, reason: "json", errors: [`body is not JSON: ${(e as Error).message}`] };
  }
}
