import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { devicesResponse, errorBody, ingestResponse, type IngestResponse, type ReadingEvent } from "../../protocol";
import { deviceHistoryResponse, registeredDevice, registeredDevicesResponse, type RegisteredDevice, type RegisteredDevicesResponse } from "../../protocol/devices";
import { registryStub } from "../../durable-objects/device-registry";
import { app } from "../../worker/app";
import { encodeDevicesCursor } from "../../worker/params";
import { REVALIDATE_MS, registryCache } from "../../worker/registry-cache";
import { ORIGIN, api, expectError, ingestOk, parsed, storedEvents } from "./support/api";
import { reading } from "./support/events";
import { until } from "./support/until";

/**
 * The device registry through the real worker and its Durable Object in
 * workerd: CRUD and bad input, paging 10,000 devices, and what the registry
 * does to ingest (location authority, disabled devices, enrollment policy).
 */
const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
const devicePath = (id: string, rest = "") => `/api/v1/devices/${encodeURIComponent(id)}${rest}`;

const putDevice = (id: string, body: unknown, headers: Record<string, string> = admin) =>
  api(devicePath(id), { method: "PUT", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

async function register(id: string, body: Record<string, unknown>): Promise<RegisteredDevice> {
  return parsed(await putDevice(id, body), registeredDevice);
}

/** A location's readings: besides them, its log may hold only the registry's profile pushes (`device-profiles-set`). */
async function storedReadings(location: string): Promise<ReadingEvent[]> {
  const events = await storedEvents(location);
  for (const e of events) expect(["reading", "device-profiles-set"]).toContain(e.type);
  return events.filter((e): e is ReadingEvent => e.type === "reading");
}


describe("the registry's routes", () => {
  it("registers, reads, changes, moves, disables, removes: each change an entry in the device's history", async () => {
    const created = await register("crud-1", { name: "Lobby button", location: "Reg Lobby", enabled: true, expectedIntervalSeconds: 60, tags: ["lobby", "v2"] });
    expect(created).toMatchObject({ deviceId: "crud-1", name: "Lobby button", location: "Reg Lobby", enabled: true, expectedIntervalSeconds: 60, tags: ["lobby", "v2"], rejected: 0 });
    expect(await parsed(await api(devicePath("crud-1"), { headers: admin }), registeredDevice)).toEqual(created);

    // The same profile again (tags in another order) is no change.
    await register("crud-1", { deviceId: "crud-1", name: "Lobby button", location: "Reg Lobby", enabled: true, expectedIntervalSeconds: 60, tags: ["v2", "lobby"] });
    // A PUT replaces: name and interval left out are cleared; moved and disabled at once.
    const changed = await register("crud-1", { location: "Reg Hall", enabled: false, tags: ["lobby", "v2"] });
    expect(changed).toMatchObject({ name: null, expectedIntervalSeconds: null, location: "Reg Hall", enabled: false });
    await register("crud-1", { location: "Reg Hall", enabled: true, tags: ["lobby", "v2"] });

    const del = await api(devicePath("crud-1"), { method: "DELETE", headers: admin });
    expect(del.status).toBe(204);
    await expectError(await api(devicePath("crud-1"), { headers: admin }), 404, 'device "crud-1" is not registered');
    await expectError(await api(devicePath("crud-1"), { method: "DELETE", headers: admin }), 404, 'device "crud-1" is not registered');

    const { history } = await parsed(await api(devicePath("crud-1", "/history"), { headers: admin }), deviceHistoryResponse);
    expect(history.map((h) => h.type)).toEqual(["device-registered", "device-updated", "device-moved", "device-disabled", "device-enabled", "device-removed"]);
    expect(history[1]!.changes).toEqual({ name: null, expectedIntervalSeconds: null });
    expect(history[2]).toMatchObject({ from: "Reg Lobby", to: "Reg Hall" });
    expect(history.map((h) => h.seq)).toEqual([...history.map((h) => h.seq)].sort((a, b) => a - b));
  });

  it("answers 401 without the admin token, and the viewer or ingest token is not it", async () => {
    for (const authorization of [undefined, `Bearer ${env.INGEST_TOKEN}`, "Bearer not-the-admin-token-0123456789abcdef"]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      expect((await api("/api/v1/devices", { headers })).status).toBe(401);
      expect((await putDevice("auth-1", { location: "Reg", enabled: true }, { ...headers, "content-type": "application/json" })).status).toBe(401);
    }
    await expectError(await api(devicePath("auth-1"), { headers: admin }), 404, 'device "auth-1" is not registered');
  });

  const BAD: [string, string, unknown, string[]][] = [
    ["an unknown field", "bad-1", { location: "Reg", enabled: true, colour: "red" }, ['Unrecognized key: "colour"']],
    ["a misspelt field", "bad-1", { location: "Reg", enabled: true, expectedInterval: 5 }, ['Unrecognized key: "expectedInterval"']],
    [
      "a location mixing scripts (Cyrillic МТС)",
      "bad-1",
      { location: "MТС", enabled: true },
      ["location: location mixes scripts (Latin and Cyrillic): a name that looks like another is refused; write it in one script"],
    ],
    ["a location with a slash", "bad-1", { location: "a/b", enabled: true }, [expect.stringMatching(/^location: location may hold only/) as unknown as string]],
    ["no location", "bad-1", { enabled: true }, ["location: location is required"]],
    ["enabled as a string", "bad-1", { location: "Reg", enabled: "yes" }, ["enabled: enabled must be true or false"]],
    ["no enabled", "bad-1", { location: "Reg" }, ["enabled: enabled is required"]],
    ["a fractional interval", "bad-1", { location: "Reg", enabled: true, expectedIntervalSeconds: 1.5 }, ["expectedIntervalSeconds: expectedIntervalSeconds must be a whole number of seconds"]],
    ["a zero interval", "bad-1", { location: "Reg", enabled: true, expectedIntervalSeconds: 0 }, ["expectedIntervalSeconds: expectedIntervalSeconds must be at least 1"]],
    ["tags not an array", "bad-1", { location: "Reg", enabled: true, tags: "a" }, ["tags: tags must be an array of strings"]],
    ["repeated tags", "bad-1", { location: "Reg", enabled: true, tags: ["a", "a"] }, ["tags: tags must not repeat"]],
    ["an empty name", "bad-1", { location: "Reg", enabled: true, name: " " }, ["name: name must not be empty"]],
    ["a body that is an array", "bad-1", [], [expect.stringMatching(/expected object/) as unknown as string]],
  ];
  it.each(BAD)("refuses %s with 400 and stores nothing", async (_, id, body, issues) => {
    const res = await putDevice(id, body);
    const error = await parsed(res, errorBody, 400);
    expect(error.error).toBe("invalid device");
    expect(error.issues).toEqual(issues);
    await expectError(await api(devicePath(id), { headers: admin }), 404, `device "${id}" is not registered`);
    await expectError(await api(devicePath(id, "/history"), { headers: admin }), 404, `device "${id}" was never registered`);
  });

  it("refuses a body naming another device, a bad device id in the path, and a body that is not JSON", async () => {
    await expectError(await putDevice("bad-2", { deviceId: "other", location: "Reg", enabled: true }), 400, "invalid device", [
      'deviceId: "other" is not the device in the path ("bad-2"); leave it out or send the same',
    ]);
    await expectError(await putDevice("bad#2", { location: "Reg", enabled: true }), 400, "invalid device id");
    expect((await putDevice("bad-2", "{not json")).status).toBe(400);
    await expectError(await api(devicePath("bad-2"), { headers: admin }), 404, 'device "bad-2" is not registered');
  });
});

describe("the registry object's RPC boundary", () => {
  it("refuses a profile the contract does not allow, logging nothing", async () => {
    const registry = registryStub(env);
    const good = { name: null, location: "Reg Rpc", enabled: true, expectedIntervalSeconds: null, tags: [] };
    // The RPC's rejection taken with .catch on the call itself: handed to expect().rejects, the runtime reports it unhandled too.
    const refusal = (call: Promise<unknown>) => call.then(() => "accepted", (error: unknown) => String(error));
    expect(await refusal(registry.put("rpc-1", { ...good, location: "a/b" }))).toMatch(/invalid device: location: location may hold only/);
    expect(await refusal(registry.put("rpc#1", good))).toMatch(/invalid device: deviceId has a character outside/);
    expect(await refusal(registry.put("rpc-1", { ...good, extra: 1 } as typeof good))).toMatch(/invalid device: .*Unrecognized key: "extra"/);
    expect(await registry.history("rpc-1")).toEqual([]);
  });
});

describe("10,000 devices, paged", () => {
  const LOCATION = "Reg Bulk";
  const COUNT = 10_000;
  const id = (i: number) => `bulk-${String(i).padStart(5, "0")}`;

  async function listAll(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: RegisteredDevicesResponse = await parsed(
        await api(`/api/v1/devices?${query}&limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`, { headers: admin }),
        registeredDevicesResponse,
      );
      ids.push(...page.devices.map((d) => d.deviceId));
      cursor = page.next;
      pages++;
    } while (cursor !== null);
    return { ids, pages };
  }

  it("holds 10,000 devices and lists them all, in id order, each once, 500 a page", { timeout: 120_000 }, async () => {
    const registry = registryStub(env);
    // Straight to the object, 50 at a time: the HTTP route is tested above, and 10,000 requests would only test patience.
    for (let start = 0; start < COUNT; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => registry.put(id(start + k), { name: null, location: LOCATION, enabled: true, expectedIntervalSeconds: 60, tags: [] })),
      );
    }
    expect(await registry.size()).toBeGreaterThanOrEqual(COUNT);
    const { ids, pages } = await listAll(`location=${encodeURIComponent(LOCATION)}`, 500);
    expect(pages).toBe(COUNT / 500);
    expect(ids).toEqual(Array.from({ length: COUNT }, (_, i) => id(i)));

    // Unfiltered, the default page is 100 and holds these among the rest.
    const first: RegisteredDevicesResponse = await parsed(await api("/api/v1/devices", { headers: admin }), registeredDevicesResponse);
    expect(first.devices).toHaveLength(100);
    expect(first.next).not.toBeNull();
    const after = await parsed(await api(`/api/v1/devices?limit=3&cursor=${encodeDevicesCursor(id(4999))}`, { headers: admin }), registeredDevicesResponse);
    expect(after.devices.map((d) => d.deviceId)).toEqual([id(5000), id(5001), id(5002)]);
  });

  const NOT_OURS = "cursor: not a cursor this API issued (start over without it)";
  const b64 = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  it.each([
    ["limit=0", ["limit: must be at least 1"]],
    ["limit=501", ["limit: must be at most 500"]],
    ["limit=x", ["limit: must be a non-negative integer"]],
    ["cursor=!!!!", [`${NOT_OURS}: not base64url`]],
    [`cursor=${b64("not json")}`, [`${NOT_OURS}: not UTF-8 JSON`]],
    [`cursor=${b64('{"after":"a/b"}')}`, [`${NOT_OURS}: after: deviceId has a character outside [A-Za-z0-9-.%_*?!(),:=@$']`]],
    [`cursor=${b64('{"after":"a","x":1}')}`, [`${NOT_OURS}: Unrecognized key: "x"`]],
    ["location=M%D0%A2%D0%A1", ["location: location mixes scripts (Latin and Cyrillic): a name that looks like another is refused; write it in one script"]],
  ])("GET /api/v1/devices?%s → 400", async (query, issues) => {
    await expectError(await api(`/api/v1/devices?${query}`, { headers: admin }), 400, "invalid devices query", issues);
  });
});

describe("ingest through the registry", () => {
  const rejectedOf = (res: IngestResponse) => res.rejected.map((r) => ({ index: r.index, errors: r.errors }));

  it("sends a registered device's events to its registered location, whatever they claim; its earlier events stay", async () => {
    const before = await ingestOk([reading("Reg Old Home", { deviceId: "mover-1" })]);
    expect(before.accepted).toBe(1);
    await register("mover-1", { location: "Reg New Home", enabled: true });
    const res = await ingestOk([reading("Reg Old Home", { deviceId: "mover-1" }), reading("Reg Elsewhere", { deviceId: "mover-1" })]);
    expect(res).toMatchObject({ accepted: 2, duplicates: 0, rejected: [] });
    expect(await storedReadings("Reg New Home")).toHaveLength(2);
    expect(await storedReadings("Reg Old Home")).toHaveLength(1);
    expect(await storedReadings("Reg Elsewhere")).toHaveLength(0);
  });

  it("refuses a disabled device's events per event, stores them nowhere, counts them on its row; others keep flowing; enabling works at once", async () => {
    await register("off-1", { location: "Reg Off", enabled: false });
    const batch = [reading("Reg Off", { deviceId: "off-1" }), reading("Reg Off", { deviceId: "on-1" }), reading("Reg Off", { deviceId: "off-1" })];
    const res = await ingestOk(batch);
    expect(res.accepted).toBe(1);
    expect(rejectedOf(res)).toEqual([
      { index: 0, errors: ['device "off-1" is disabled'] },
      { index: 2, errors: ['device "off-1" is disabled'] },
    ]);
    expect(res.rejected.map((r) => r.id)).toEqual([batch[0]!.id, batch[2]!.id]);
    expect((await storedReadings("Reg Off")).map((e) => e.deviceId)).toEqual(["on-1"]);
    // Counted off the request's path: the count arrives shortly after.
    await until("the refused events to be counted", Date.now() + 10_000, async () => {
      const device = await parsed(await api(devicePath("off-1"), { headers: admin }), registeredDevice);
      return device.rejected === 2 ? device : undefined;
    });

    await register("off-1", { location: "Reg Off", enabled: true });
    expect((await ingestOk([reading("Reg Off", { deviceId: "off-1" })])).accepted).toBe(1);
  });

  it("a change made elsewhere (straight to the registry) is in force for every request that starts REVALIDATE_MS after it", async () => {
    await register("remote-1", { location: "Reg Remote", enabled: true });
    expect((await ingestOk([reading("Reg Remote", { deviceId: "remote-1" })])).accepted).toBe(1);
    // Not through this isolate's routes: its cached copy must notice by itself. Disable, move, enable, remove.
    const registry = registryStub(env);
    const profile = { name: null, location: "Reg Remote", enabled: true, expectedIntervalSeconds: null, tags: [] };
    const wait = () => new Promise((r) => setTimeout(r, REVALIDATE_MS + 10));

    await registry.put("remote-1", { ...profile, enabled: false });
    await wait();
    expect(rejectedOf(await ingestOk([reading("Reg Remote", { deviceId: "remote-1" })]))).toEqual([{ index: 0, errors: ['device "remote-1" is disabled'] }]);

    await registry.put("remote-1", { ...profile, location: "Reg Remote 2" });
    await wait();
    expect((await ingestOk([reading("Reg Remote", { deviceId: "remote-1" })])).accepted).toBe(1);
    expect(await storedReadings("Reg Remote 2")).toHaveLength(1);

    await registry.remove("remote-1");
    await wait();
    expect((await ingestOk([reading("Reg Remote", { deviceId: "remote-1" })])).accepted).toBe(1);
    expect(await storedReadings("Reg Remote")).toHaveLength(2);
  });

  const post = async (withEnv: Env, events: unknown[]) => {
    const ctx = createExecutionContext();
    const res = await app.request(
      ORIGIN + "/api/v1/ingest",
      { method: "POST", headers: { authorization: `Bearer ${env.INGEST_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ events }) },
      withEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  };

  it("DEVICE_ENROLLMENT=registered refuses an unknown device's events per event; registered ones pass", async () => {
    await register("enrolled-1", { location: "Reg Enrolled", enabled: true });
    const strict = { ...env, DEVICE_ENROLLMENT: "registered" } as Env;
    const res = await parsed(await post(strict, [reading("Reg Enrolled", { deviceId: "stranger-1" }), reading("Reg Enrolled", { deviceId: "enrolled-1" })]), ingestResponse);
    expect(res.accepted).toBe(1);
    expect(rejectedOf(res)).toEqual([{ index: 0, errors: ['device "stranger-1" is not registered'] }]);
    expect((await storedReadings("Reg Enrolled")).map((e) => e.deviceId)).toEqual(["enrolled-1"]);
    // `open` (set, or unset as in this pool) lets the stranger in.
    const open = await parsed(await post({ ...env, DEVICE_ENROLLMENT: "open" } as Env, [reading("Reg Enrolled", { deviceId: "stranger-1" })]), ingestResponse);
    expect(open.accepted).toBe(1);
  });

  it("a registry that does not answer makes ingest refuse the batch with 503 and Retry-After (nothing stored), not let it through unchecked", async () => {
    // The one stand-in in this file: a registry namespace whose object fails, as an outage would.
    const down = { idFromName: () => ({}), get: () => ({ changesSince: () => Promise.reject(new Error("registry down")) }) };
    registryCache.invalidate();
    const res = await post({ ...env, DEVICE_REGISTRY: down } as unknown as Env, [reading("Reg Outage")]);
    expect(res.headers.get("retry-after")).toBe("1");
    await expectError(res, 503, "the device registry did not answer", ["nothing was stored; retry shortly"]);
    expect(await storedReadings("Reg Outage")).toEqual([]);
    // Back up: the next batch is checked and stored.
    expect((await ingestOk([reading("Reg Outage")])).accepted).toBe(1);
  });

  it("an invalid DEVICE_ENROLLMENT answers 503 and says what is allowed; nothing is stored", async () => {
    const res = await post({ ...env, DEVICE_ENROLLMENT: "closed" } as Env, [reading("Reg Misconfigured")]);
    await expectError(res, 503, "DEVICE_ENROLLMENT is invalid", [
      'DEVICE_ENROLLMENT is "closed"; set it to one of "open", "registered" (or leave it unset for "open") in wrangler.toml [vars]',
    ]);
    expect(await storedReadings("Reg Misconfigured")).toEqual([]);
  });
});

describe("GET /api/v1/locations/{location}/devices with the registry", () => {
  it("joins the registry: name, enabled, interval, refused count, and health online / late / offline; registered devices never heard are listed", async () => {
    const location = "Reg Health";
    const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
    await register("h-online", { name: "Fresh", location, enabled: true, expectedIntervalSeconds: 60 });
    await register("h-late", { location, enabled: true, expectedIntervalSeconds: 60 });
    await register("h-offline", { location, enabled: true, expectedIntervalSeconds: 60 });
    await register("h-never", { location, enabled: true, expectedIntervalSeconds: 60 });
    await register("h-nointerval", { location, enabled: false });
    await ingestOk([
      reading(location, { deviceId: "h-online", occurredAt: at(10) }),
      reading(location, { deviceId: "h-late", occurredAt: at(120) }),
      reading(location, { deviceId: "h-offline", occurredAt: at(240) }),
      reading(location, { deviceId: "h-stranger", occurredAt: at(1) }),
    ]);
    const { devices } = await parsed(await api(`/api/v1/locations/${encodeURIComponent(location)}/devices`), devicesResponse);
    const byId = Object.fromEntries(devices.map((d) => [d.deviceId, d]));
    expect(Object.keys(byId).sort()).toEqual(["h-late", "h-never", "h-nointerval", "h-offline", "h-online", "h-stranger"]);
    expect(byId["h-online"]).toMatchObject({ health: "online", registration: { name: "Fresh", location, enabled: true, expectedIntervalSeconds: 60, rejected: 0 } });
    expect(byId["h-late"]!.health).toBe("late");
    expect(byId["h-offline"]!.health).toBe("offline");
    expect(byId["h-never"]).toMatchObject({ lastSeenAt: null, health: "offline", vote: null });
    expect(byId["h-nointerval"]).toMatchObject({ lastSeenAt: null, health: null, registration: { enabled: false, expectedIntervalSeconds: null } });
    expect(byId["h-stranger"]).toMatchObject({ health: null, registration: null, vote: 1 });
  });
});

