import type { Entry } from "../../domain/location/entries";
import type { HeldProfile } from "../../domain/location/offline";
import type { LocationState } from "../../domain/location/state";
import { selectIn, type WriteMeter } from "../sql";

/** A held profile as stored: `heardAt` is not, it is the devices projection's `last_seen_at` (and the log's tail). */
type StoredProfile = Omit<HeldProfile, "heardAt">;

/** Profiles are `meta` rows keyed `profile:{deviceId}`; this bound ends the range (';' follows ':'). */
const PREFIX = "profile:";
const AFTER = "profile;";

/**
 * The device profiles the registry pushed (domain/location/offline.ts): a
 * projection of the log's `device-profiles-set` entries, one `meta` row per
 * device (`profile:{deviceId}`, a range of meta's primary key), so a change
 * writes only the rows of the devices it changes and needs no table (no
 * migration). A rebuild recomputes them from the log's system entries.
 *
 * When a device was last heard is not stored: on load it is the devices
 * projection's `last_seen_at` (checkpointed), no earlier than the profile's
 * arrival (`since`); the log's tail after the checkpoint moves it on as it is
 * folded again, and appends move it in memory.
 */
export class ProfileStore {
  constructor(private readonly sql: SqlStorage) {}

  private stored(): [string, StoredProfile][] {
    return this.sql
      .exec<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key", PREFIX, AFTER)
      .toArray()
      .map((r) => [r.key.slice(PREFIX.length), JSON.parse(r.value) as StoredProfile]);
  }

  /** Puts the stored profiles into `state`; call before the log's tail is folded. */
  loadInto(state: LocationState): void {
    const stored = this.stored();
    if (stored.length === 0) return;
    const ids = stored.map(([id]) => id);
    const seen = new Map(selectIn<{ device_id: string; last_seen_at: number }>(this.sql, "device_id, last_seen_at", "devices", "device_id", ids).map((r) => [r.device_id, r.last_seen_at]));
    for (const [deviceId, p] of stored) state.profiles.set(deviceId, { ...p, heardAt: Math.max(p.since, seen.get(deviceId) ?? -Infinity) });
  }

  /** Writes the rows of the devices the `device-profiles-set` entries among `entries` change (a device's `since` kept). */
  record(meter: WriteMeter, entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type !== "device-profiles-set") continue;
      const keys = e.profiles.map((u) => PREFIX + u.deviceId);
      const since = new Map(selectIn<{ key: string; value: string }>(this.sql, "key, value", "meta", "key", keys).map((r) => [r.key, (JSON.parse(r.value) as StoredProfile).since]));
      for (const { deviceId, profile } of e.profiles) {
        const key = PREFIX + deviceId;
        if (profile === null) meter.run("DELETE FROM meta WHERE key = ?", key);
        else {
          const row: StoredProfile = { ...profile, since: since.get(key) ?? e.occurredAt };
          meter.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, JSON.stringify(row));
        }
      }
    }
  }

  /** Recomputes the rows from the log's system entries (a rebuild). */
  rebuild(meter: WriteMeter, log: Iterable<Entry>): void {
    meter.run("DELETE FROM meta WHERE key >= ? AND key < ?", PREFIX, AFTER);
    for (const e of log) this.record(meter, [e]);
  }

  /** The stored projection, for tests comparing incremental and rebuilt state. */
  dump(): Record<string, unknown[]> {
    return { profiles: this.stored() };
  }
}
