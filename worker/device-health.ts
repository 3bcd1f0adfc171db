import type { DevicesResponse } from "../protocol/read";
import { isoString } from "../protocol/time";
import { healthOf } from "../domain/devices/health";
import { registryStub } from "../durable-objects/device-registry";
import { locationStub } from "./stubs";

type DeviceSummary = DevicesResponse["devices"][number];

/**
 * `GET /api/v1/locations/{location}/devices`: what the location heard of each
 * device, joined with what the registry holds of it (name, enabled, expected
 * interval, refused events) and its health at `now`. Registered devices the
 * location never heard are listed too (offline when they have an interval).
 * Two calls: the location, then the registry for the devices it named.
 */
export async function locationDevices(env: Env, location: string, now: number): Promise<DevicesResponse> {
  const heard = await locationStub(env, location).devices();
  const registered = new Map((await registryStub(env).registrations(location, heard.map((d) => d.deviceId))).map((r) => [r.deviceId, r]));
  const summary = (deviceId: string, lastSeenAt: number | null, readings: Pick<DeviceSummary, "vote" | "temperature" | "humidity">): DeviceSummary => {
    const r = registered.get(deviceId);
    return {
      deviceId,
      lastSeenAt: lastSeenAt === null ? null : isoString(lastSeenAt),
      health: healthOf(lastSeenAt, r?.expectedIntervalSeconds ?? null, now),
      registration: r
        ? { name: r.name, location: r.location, enabled: r.enabled, expectedIntervalSeconds: r.expectedIntervalSeconds, rejected: r.rejected }
        : null,
      ...readings,
    };
  };
  const devices = heard.map((d) =>
    summary(d.deviceId, d.lastSeenAt, {
      vote: (d.vote?.value ?? null) as DeviceSummary["vote"],
      temperature: d.temperature?.value ?? null,
      humidity: d.humidity?.value ?? null,
    }),
  );
  const heardIds = new Set(heard.map((d) => d.deviceId));
  for (const r of registered.values()) {
    if (!heardIds.has(r.deviceId) && r.location === location) devices.push(summary(r.deviceId, null, { vote: null, temperature: null, humidity: null }));
  }
  return { devices };
}
