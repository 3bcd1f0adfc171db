import { Hono } from "hono";
import { deviceBody, type DeviceHistoryResponse, type DeviceProfile, type RegisteredDevice, type RegisteredDevicesResponse } from "../../protocol/devices";
import { registryStub } from "../../durable-objects/device-registry";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJsonBody } from "../json-body";
import { bearerSecret } from "../middleware/bearer-secret";
import { devicesQuery, encodeDevicesCursor, parseDeviceId, parseOr400 } from "../params";
import { registryCache } from "../registry-cache";

export const DEVICE_BODY_LIMIT = 16 * 1024;

const notRegistered = (deviceId: string) => new ApiError(404, `device "${deviceId}" is not registered`, ["register it with PUT /api/v1/devices/{deviceId}"]);

/**
 * The device registry under /api/v1/devices (admin token): list, read,
 * register or change (PUT replaces the profile), remove, and the history of
 * changes. Every change is an entry in the registry's log; this isolate's
 * cached routes are refreshed at once, the others' within REVALIDATE_MS.
 */
export const devices = new Hono<AppEnv>()
  .use(bearerSecret("ADMIN_TOKEN"))
  .get("/", async (c) => {
    const { location, cursor, limit } = parseOr400(devicesQuery, c.req.query(), "devices query");
    const page = await registryStub(c.env).page(location ?? null, cursor ?? null, limit);
    return c.json({ devices: page.devices, next: page.next === null ? null : encodeDevicesCursor(page.next) } satisfies RegisteredDevicesResponse);
  })
  .get("/:deviceId", async (c) => {
    const deviceId = parseDeviceId(c.req.param("deviceId"));
    const device = await registryStub(c.env).get(deviceId);
    if (!device) throw notRegistered(deviceId);
    return c.json(device satisfies RegisteredDevice);
  })
  .put("/:deviceId", async (c) => {
    const deviceId = parseDeviceId(c.req.param("deviceId"));
    const body = parseOr400(deviceBody, await readJsonBody(c.req.raw, DEVICE_BODY_LIMIT), "device");
    if (body.deviceId !== undefined && body.deviceId !== deviceId) {
      throw new ApiError(400, "invalid device", [`deviceId: "${body.deviceId}" is not the device in the path ("${deviceId}"); leave it out or send the same`]);
    }
    const profile: DeviceProfile = {
      name: body.name ?? null,
      location: body.location,
      enabled: body.enabled,
      expectedIntervalSeconds: body.expectedIntervalSeconds ?? null,
      tags: body.tags ?? [],
    };
    const { device } = await registryStub(c.env).put(deviceId, profile);
    registryCache.invalidate();
    return c.json(device satisfies RegisteredDevice);
  })
  .delete("/:deviceId", async (c) => {
    const deviceId = parseDeviceId(c.req.param("deviceId"));
    if (!(await registryStub(c.env).remove(deviceId))) throw notRegistered(deviceId);
    registryCache.invalidate();
    return c.body(null, 204);
  })
  .get("/:deviceId/history", async (c) => {
    const deviceId = parseDeviceId(c.req.param("deviceId"));
    const history = await registryStub(c.env).history(deviceId);
    if (history.length === 0) throw new ApiError(404, `device "${deviceId}" was never registered`, []);
    return c.json({ deviceId, history } satisfies DeviceHistoryResponse);
  });
