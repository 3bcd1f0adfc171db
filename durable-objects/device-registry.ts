import { DurableObject } from "cloudflare:workers";
import { deviceProfile, type DeviceChange, type DeviceProfile, type RegisteredDevice } from "../protocol/devices";
import { deviceId as deviceIdSchema } from "../protocol/ids";
import { formatIssues } from "../protocol/issues";
import { isoString } from "../protocol/time";
import { decide, type DeviceInput } from "../domain/devices/decide";
import type { DeviceEntry } from "../domain/devices/entries";
import { evolve, type DeviceState } from "../domain/devices/state";
import type { DeviceRoute } from "../domain/devices/admit";
import { migrate, type Migration } from "./migrations";
import { WriteMeter } from "./sql";
import { PROFILE_OUTBOX_MIGRATION, ProfilePush } from "./registry/profile-push";

/** The one registry's name: device ids are global, so one object holds them all (10,000 devices are ~2 MB). */
export const REGISTRY_NAME = "registry";

export const registryStub = (env: Env) => env.DEVICE_REGISTRY.get(env.DEVICE_REGISTRY.idFromName(REGISTRY_NAME));

const REGISTRY_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "the registry's log and its projection of current devices",
    // `log` is the source of truth (one row per change, seq-ordered). `devices`
    // is derived from it in the same transaction: one row per device ever
    // registered, `state` NULL once removed (kept as a tombstone so isolates
    // reading changes by `version` hear of the removal). `rejected` is a
    // counter, not history: refused events are counted, not logged.
    sql: `
      CREATE TABLE log (seq INTEGER PRIMARY KEY, device_id TEXT NOT NULL, type TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE INDEX log_by_device ON log (device_id, seq);
      CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        location TEXT,
        version INTEGER NOT NULL,
        state TEXT,
        rejected INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE INDEX devices_by_version ON devices (version);
      CREATE INDEX devices_by_location ON devices (location, device_id);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `,
  },
  PROFILE_OUTBOX_MIGRATION,
];

export interface RegistryPage {
  devices: RegisteredDevice[];
  /** The last device id of this page when more follow (the worker turns it into an opaque cursor). */
  next: string | null;
}

/**
 * What changed since an isolate's copy: the routes of devices changed after
 * `version` (null: removed). `epoch` names this registry's storage; a copy
 * from another epoch (storage reset) starts over.
 */
export interface RegistryChanges {
  epoch: string;
  version: number;
  routes: { deviceId: string; route: DeviceRoute | null }[];
}

export interface PutResult {
  device: RegisteredDevice;
  created: boolean;
  /** Log entries the change added (0: the same profile again). */
  changes: number;
}

type DeviceRow = { device_id: string; state: string | null; rejected: number };

/**
 * The device registry: every change to a device is an entry in its SQLite log
 * (the decider in domain/devices decides them), folded into a projection of
 * current devices in the same transaction. Workers cache the routes (where a
 * device's events go, whether it may send) and ask for what changed since
 * their copy's `version` at most every REVALIDATE_MS (worker/registry-cache.ts).
 */
export class DeviceRegistry extends DurableObject<Env> {
  private readonly epoch: string;
  private version: number;
  /** Tells the locations of their devices' profiles (durable-objects/registry/profile-push.ts). */
  private readonly profiles: ProfilePush;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, REGISTRY_MIGRATIONS);
    const sql = ctx.storage.sql;
    sql.exec("INSERT INTO meta (key, value) VALUES ('epoch', ?) ON CONFLICT(key) DO NOTHING", crypto.randomUUID());
    this.epoch = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'epoch'").one().value;
    this.version = sql.exec<{ v: number | null }>("SELECT max(seq) AS v FROM log").one().v ?? 0;
    this.profiles = new ProfilePush(ctx, env);
    void ctx.blockConcurrencyWhile(() => this.profiles.resume());
  }

  /**
   * Registers or changes a device (PUT): the decider's entries, logged and
   * folded in one transaction; then its location (and, after a move, the one
   * it left) is told its profile before this answers, or by the alarm later
   * if the location failed.
   */
  async put(deviceId: string, profile: DeviceProfile): Promise<PutResult> {
    // An RPC boundary like any other: what is logged must be what the contract allows.
    const id = deviceIdSchema.safeParse(deviceId);
    const parsed = deviceProfile.strict().safeParse(profile);
    if (!id.success || !parsed.success) {
      throw new TypeError(`invalid device: ${[...(id.error ? formatIssues(id.error) : []), ...(parsed.error ? formatIssues(parsed.error) : [])].join("; ")}`);
    }
    profile = parsed.data;
    const before = this.state(deviceId);
    const entries = this.run(before, { type: "put", deviceId, profile });
    const device = this.get(deviceId)!;
    if (entries.length > 0) await this.profiles.push();
    return { device, created: before === null, changes: entries.length };
  }

  /** Removes a device (DELETE); false when it was not registered. Its location is told as after a change. */
  async remove(deviceId: string): Promise<boolean> {
    const removed = this.run(this.state(deviceId), { type: "remove", deviceId }).length > 0;
    if (removed) await this.profiles.push();
    return removed;
  }

  /** Profile pushes that failed: retried until each location has them. */
  override async alarm(): Promise<void> {
    await this.profiles.push();
  }

  /** Profile changes not yet pushed to their locations (for tests). */
  pendingProfiles(): number {
    return this.profiles.pending();
  }

  get(deviceId: string): RegisteredDevice | null {
    const row = this.ctx.storage.sql.exec<DeviceRow>("SELECT device_id, state, rejected FROM devices WHERE device_id = ?", deviceId).toArray()[0];
    return row ? present(row) : null;
  }

  /** Up to `limit` devices with ids after `after`, in id order, at `location` when given. */
  page(location: string | null, after: string | null, limit: number): RegistryPage {
    const sql = this.ctx.storage.sql;
    const rows =
      location === null
        ? sql.exec<DeviceRow>("SELECT device_id, state, rejected FROM devices WHERE device_id > ? AND state IS NOT NULL ORDER BY device_id LIMIT ?", after ?? "", limit + 1)
        : sql.exec<DeviceRow>(
            "SELECT device_id, state, rejected FROM devices WHERE location = ? AND device_id > ? AND state IS NOT NULL ORDER BY device_id LIMIT ?",
            location,
            after ?? "",
            limit + 1,
          );
    const list = rows.toArray();
    const more = list.length > limit;
    const shown = more ? list.slice(0, limit) : list;
    return { devices: shown.map((r) => present(r)!), next: more ? shown.at(-1)!.device_id : null };
  }

  /**
   * The registered devices a location's devices list shows: those registered
   * at `location`, and those of `heard` (devices with events there) wherever
   * they are registered now.
   */
  registrations(location: string, heard: readonly string[]): RegisteredDevice[] {
    return this.ctx.storage.sql
      .exec<DeviceRow>(
        `SELECT device_id, state, rejected FROM devices
         WHERE state IS NOT NULL AND (location = ? OR device_id IN (SELECT value FROM json_each(?)))
         ORDER BY device_id`,
        location,
        JSON.stringify(heard),
      )
      .toArray()
      .map((r) => present(r)!);
  }

  /** Every change to `deviceId`, oldest first (empty when it was never registered). */
  history(deviceId: string): DeviceChange[] {
    return this.ctx.storage.sql
      .exec<{ seq: number; body: string }>("SELECT seq, body FROM log WHERE device_id = ? ORDER BY seq", deviceId)
      .toArray()
      .map(({ seq, body }) => {
        const { deviceId: _, at, ...rest } = JSON.parse(body) as DeviceEntry;
        return { seq, at: isoString(at), ...rest };
      });
  }

  /** Routes changed after `version` (everything when `epoch` is not this registry's). */
  changesSince(epoch: string | null, version: number): RegistryChanges {
    const after = epoch === this.epoch ? version : 0;
    const routes = this.ctx.storage.sql
      .exec<{ device_id: string; state: string | null }>("SELECT device_id, state FROM devices WHERE version > ?", after)
      .toArray()
      .map(({ device_id, state }) => {
        if (state === null) return { deviceId: device_id, route: null };
        const s = JSON.parse(state) as DeviceState;
        return { deviceId: device_id, route: { location: s.location, enabled: s.enabled } };
      });
    return { epoch: this.epoch, version: this.version, routes };
  }

  /**
   * Adds refused events to registered devices' counters (one UPDATE of
   * each device's row; ids the registry does not hold are ignored). Workers
   * call this coalesced, off the ingest path.
   */
  countRejected(counts: [deviceId: string, n: number][]): void {
    const meter = new WriteMeter(this.ctx.storage.sql);
    meter.run(
      "UPDATE devices SET rejected = rejected + c.n FROM (SELECT value ->> 0 AS id, value ->> 1 AS n FROM json_each(?)) AS c WHERE devices.device_id = c.id AND devices.state IS NOT NULL",
      JSON.stringify(counts.filter(([, n]) => Number.isInteger(n) && n > 0)),
    );
  }

  /** Devices registered now (for tests and docs). */
  size(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM devices WHERE state IS NOT NULL").one().n;
  }

  private state(deviceId: string): DeviceState | null {
    const row = this.ctx.storage.sql.exec<{ state: string | null }>("SELECT state FROM devices WHERE device_id = ?", deviceId).toArray()[0];
    return row?.state ? (JSON.parse(row.state) as DeviceState) : null;
  }

  /** Decides, then appends each entry and folds it into the device's row, in one transaction. */
  private run(state: DeviceState | null, input: DeviceInput): DeviceEntry[] {
    const now = Date.now();
    const entries = decide(state, input, now);
    if (entries.length === 0) return entries;
    const meter = new WriteMeter(this.ctx.storage.sql);
    this.ctx.storage.transactionSync(() => {
      let current = state;
      let seq = this.version;
      for (const entry of entries) {
        seq++;
        meter.run("INSERT INTO log (seq, device_id, type, at, body) VALUES (?, ?, ?, ?, ?)", seq, entry.deviceId, entry.type, entry.at, JSON.stringify(entry));
        current = evolve(current, entry);
      }
      meter.run(
        `INSERT INTO devices (device_id, location, version, state) VALUES (?, ?, ?, ?)
         ON CONFLICT(device_id) DO UPDATE SET location = excluded.location, version = excluded.version, state = excluded.state`,
        input.deviceId,
        current?.location ?? null,
        seq,
        current === null ? null : JSON.stringify(current),
      );
      this.profiles.enqueue(meter, input.deviceId, [state?.location, current?.location].filter((l) => l !== undefined), seq);
      this.version = seq;
    });
    return entries;
  }
}

function present(row: DeviceRow): RegisteredDevice | null {
  if (row.state === null) return null;
  const { registeredAt, updatedAt, ...profile } = JSON.parse(row.state) as DeviceState;
  return { ...profile, registeredAt: isoString(registeredAt), updatedAt: isoString(updatedAt), rejected: row.rejected };
}
