import { z } from "zod";
import { locationName } from "./ids";
import { NO_READING, hasReading, humidity, vote } from "./readings";
import { instant } from "./time";

/**
 * What a device publishes (normative, see DESIGN.md "Device messages"):
 * Azure IoT Hub's MQTT topic convention and a small JSON body.
 */

/** The subscription that catches every device's telemetry. */
export const TELEMETRY_TOPIC_FILTER = "devices/+/messages/events/#";

/** System keys of the IoT Hub property bag; every other key is an application property. */
export const SYSTEM_PROPERTIES = {
  messageId: "$.mid",
  contentType: "$.ct",
  contentEncoding: "$.ce",
  correlationId: "$.cid",
} as const;

/** The application property (or body field) that names the location. */
export const LOCATION_PROPERTY = "location";

export interface TelemetryTopic {
  /** As it appears in the topic; validate it with `deviceId`. */
  deviceId: string;
  /** The decoded property bag, system keys (`$.mid`, …) included. */
  bag: Record<string, string>;
}

export type TopicParse = { ok: true; topic: TelemetryTopic } | { ok: false; error: string };

const TOPIC_SHAPE = "topic must be devices/{deviceId}/messages/events/{propertyBag}";

/**
 * Parses `devices/{deviceId}/messages/events/{propertyBag}`. The bag may be
 * empty or absent (`…/events` matches the `#` filter too); it is URL-encoded
 * `k=v&k2=v2`, so it never holds a `/`.
 */
export function parseTelemetryTopic(topic: string): TopicParse {
  const levels = topic.split("/");
  if (levels.length < 4 || levels.length > 5 || levels[0] !== "devices" || levels[2] !== "messages" || levels[3] !== "events") {
    return { ok: false, error: `${TOPIC_SHAPE}, got "${topic.slice(0, 200)}"` };
  }
  const deviceId = levels[1]!;
  if (deviceId === "") return { ok: false, error: `${TOPIC_SHAPE}: the device id is empty` };
  const bag = parsePropertyBag(levels[4] ?? "");
  if (!bag.ok) return bag;
  return { ok: true, topic: { deviceId, bag: bag.bag } };
}

/** Decodes a URL-encoded `k=v&k2=v2` property bag; a later duplicate key wins. */
export function parsePropertyBag(encoded: string): { ok: true; bag: Record<string, string> } | { ok: false; error: string } {
  const bag: Record<string, string> = {};
  for (const pair of encoded.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? "" : pair.slice(eq + 1);
    try {
      const key = decode(rawKey);
      if (key === "") return { ok: false, error: `property bag has an entry without a name: "${pair.slice(0, 100)}"` };
      bag[key] = decode(rawValue);
    } catch {
      return { ok: false, error: `property bag entry "${pair.slice(0, 100)}" is not valid URL encoding` };
    }
  }
  return { ok: true, bag };
}

/** Most bag entries hold no escape at all; skip the decoder for them (it runs per message). */
const decode = (s: string): string => (s.includes("%") ? decodeURIComponent(s) : s);

/**
 * The JSON body. Readings are checked here except the temperature range,
 * which depends on the unit and is checked after conversion to °C by the
 * ingest contract. Unknown fields are ignored (devices add their own).
 */
export const deviceMessageBody = z
  .object(
    {
      vote: vote.optional(),
      temperature: z.number({ error: "temperature must be a finite number" }).optional(),
      humidity: humidity.optional(),
      device: z.string({ error: "device must be a string" }).optional(),
      location: locationName.optional(),
      ts: instant.optional(),
    },
    { error: "body must be a JSON object" },
  )
  .refine(hasReading, { error: NO_READING });

export type DeviceMessageBody = z.output<typeof deviceMessageBody>;
