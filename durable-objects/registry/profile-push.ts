import type { DeviceProfileUpdate } from "../../protocol/device-profiles";
import type { DeviceState } from "../../domain/devices/state";
import type { Migration } from "../migrations";
import { PROFILES_PER_PUSH } from "../location/profile-updates";
import type { WriteMeter } from "../sql";

/**
 * The registry's outbox of profile changes for the locations (issue 10):
 * (location, device, version) rows written in the transaction that logs the
 * change, so a change committed is a change the location will hear of.
 */
export const PROFILE_OUTBOX_MIGRATION: Migration = {
  version: 2,
  description: "profile pushes: the outbox of devices whose locations must hear of a change",
  sql: `CREATE TABLE profile_outbox (location TEXT NOT NULL, device_id TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (location, device_id)) WITHOUT ROWID;`,
};

/** Retry delays after a failed push (doubling up to the last), as a location's own calls to other objects. */
const RETRY_MS = [1_000, 2_000, 5_000, 15_000, 60_000];

type OutboxRow = { location: string; device_id: string; version: number };

/**
 * Pushes device profiles to the locations (`LocationStream.setDeviceProfiles`)
 * until each has them. The registry's transaction `enqueue`s the device for
 * its location (and, on a move, the one it left); `push` then sends every
 * location its devices' profiles as they are *now* (a device no longer
 * registered there is sent as `profile: null`), and deletes the rows sent
 * unless a newer change re-queued them meanwhile. Pushes run one at a time
 * (a later one never overtakes an earlier one with older profiles), so
 * concurrent changes coalesce into the next push. The location is
 * idempotent: a profile it holds already adds nothing. A failed location
 * keeps its rows; the registry's alarm retries with growing delays.
 */
export class ProfilePush {
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  /** Queues `deviceId` for each of `locations` at registry `version`. Call inside the change's transaction. */
  enqueue(meter: WriteMeter, deviceId: string, locations: Iterable<string>, version: number): void {
    for (const location of new Set(locations)) {
      meter.run(
        "INSERT INTO profile_outbox (location, device_id, version) VALUES (?, ?, ?) ON CONFLICT(location, device_id) DO UPDATE SET version = excluded.version",
        location,
        deviceId,
        version,
      );
    }
  }

  /** Rows waiting to be pushed (for the constructor's alarm, and tests). */
  pending(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM profile_outbox").one().n;
  }

  /** Pushes what is queued, after any push running now; a failure is logged and left to the alarm, never thrown. */
  push(): Promise<void> {
    const run = this.chain.then(() => this.drain());
    this.chain = run;
    return run;
  }

  /** After a restart: queued rows an earlier instance did not push are the alarm's. */
  async resume(): Promise<void> {
    if (this.pending() > 0 && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  private async drain(): Promise<void> {
    for (;;) {
      const rows = this.ctx.storage.sql.exec<OutboxRow>("SELECT location, device_id, version FROM profile_outbox ORDER BY location, device_id LIMIT ?", PROFILES_PER_PUSH * 4).toArray();
      if (rows.length === 0) {
        this.failures = 0;
        return;
      }
      const byLocation = new Map<string, OutboxRow[]>();
      for (const r of rows) {
        const list = byLocation.get(r.location) ?? [];
        if (list.length < PROFILES_PER_PUSH) byLocation.set(r.location, [...list, r]);
      }
      let failed = false;
      for (const [location, batch] of byLocation) if (!(await this.send(location, batch))) failed = true;
      if (failed) {
        const delay = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)]!;
        this.failures++;
        await this.ctx.storage.setAlarm(Date.now() + delay);
        return;
      }
    }
  }

  /** One location's batch: its devices' current profiles, then the rows sent (unless re-queued since). */
  private async send(location: string, rows: readonly OutboxRow[]): Promise<boolean> {
    const sql = this.ctx.storage.sql;
    const states = new Map(
      sql
        .exec<{ device_id: string; state: string | null }>("SELECT device_id, state FROM devices WHERE device_id IN (SELECT value FROM json_each(?))", JSON.stringify(rows.map((r) => r.device_id)))
        .toArray()
        .map((r) => [r.device_id, r.state === null ? null : (JSON.parse(r.state) as DeviceState)]),
    );
    const profiles: DeviceProfileUpdate[] = rows.map(({ device_id: deviceId }) => {
      const s = states.get(deviceId);
      return { deviceId, profile: s && s.location === location ? { name: s.name, expectedIntervalSeconds: s.expectedIntervalSeconds, enabled: s.enabled } : null };
    });
    try {
      await this.env.LOCATIONS.get(this.env.LOCATIONS.idFromName(location)).setDeviceProfiles(location, profiles);
    } catch (error) {
      console.warn(JSON.stringify({ msg: "pushing device profiles failed; retrying", location, devices: rows.length, error: String(error) }));
      return false;
    }
    sql.exec(
      `DELETE FROM profile_outbox WHERE location = ? AND EXISTS (
         SELECT 1 FROM json_each(?) AS s WHERE s.value ->> 0 = profile_outbox.device_id AND profile_outbox.version <= s.value ->> 1)`,
      location,
      JSON.stringify(rows.map((r) => [r.device_id, r.version])),
    );
    return true;
  }
}
