import { DurableObject } from "cloudflare:workers";
import { channelsBody, secretHint, type Channel, type ChannelsResponse } from "../protocol/notifications";
import { isoString } from "../protocol/time";
import { migrate, type Migration } from "./migrations";

/** The one NotificationConfig instance's name. */
export const NOTIFICATION_CONFIG_NAME = "notifications";

export const notificationConfigStub = (env: Env) => env.NOTIFICATIONS.get(env.NOTIFICATIONS.idFromName(NOTIFICATION_CONFIG_NAME));

/** A location's view of the channels: those that take its notifications, at a version. */
export interface ChannelsFor {
  version: number;
  /** null: unchanged since the version the caller holds. */
  channels: Channel[] | null;
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "the channel set, versioned",
    sql: `CREATE TABLE channel_set (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), version INTEGER NOT NULL, updated_at INTEGER NOT NULL, channels TEXT NOT NULL);`,
  },
];

/**
 * The notification channels of the whole deployment: one small object, one
 * row. Written by PUT /api/v1/notifications; read by a location only when it
 * has something to send, with the version it last saw (answered "unchanged"
 * when it is still current), so the secrets cross once per change, not per
 * notification. One object is plenty: it is read per alert change, never per
 * event.
 */
export class NotificationConfig extends DurableObject<Env> {
  private current: { version: number; updatedAt: number | null; channels: Channel[] };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, MIGRATIONS);
    const row = ctx.storage.sql.exec<{ version: number; updated_at: number; channels: string }>("SELECT version, updated_at, channels FROM channel_set").toArray()[0];
    this.current = row ? { version: row.version, updatedAt: row.updated_at, channels: JSON.parse(row.channels) as Channel[] } : { version: 0, updatedAt: null, channels: [] };
  }

  /** Replaces the channel set (validated again: an RPC boundary like any other); answers it as GET does. */
  put(channels: Channel[]): ChannelsResponse {
    const parsed = channelsBody.safeParse({ channels });
    if (!parsed.success) throw new TypeError(`invalid channels: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const next = { version: this.current.version + 1, updatedAt: Date.now(), channels: parsed.data.channels };
    this.ctx.storage.sql.exec(
      `INSERT INTO channel_set (singleton, version, updated_at, channels) VALUES (1, ?, ?, ?)
       ON CONFLICT(singleton) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, channels = excluded.channels`,
      next.version,
      next.updatedAt,
      JSON.stringify(next.channels),
    );
    this.current = next;
    return this.get();
  }

  /** The channels with their secrets hidden. */
  get(): ChannelsResponse {
    const { version, updatedAt, channels } = this.current;
    return {
      version,
      updatedAt: updatedAt === null ? null : isoString(updatedAt),
      channels: channels.map(({ secret, ...c }) => ({ ...c, secretHint: secretHint(secret) })),
    };
  }

  /** The channels that take `location`'s notifications (secrets included: for the location's sender only). */
  channelsFor(location: string, knownVersion: number | null): ChannelsFor {
    const { version, channels } = this.current;
    if (knownVersion === version) return { version, channels: null };
    return { version, channels: channels.filter((c) => c.locations === undefined || c.locations.includes(location)) };
  }
}
