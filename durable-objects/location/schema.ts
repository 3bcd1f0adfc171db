import type { Migration } from "../migrations";

/**
 * The location's tables. Rows written are what the platform bills, and every
 * index entry is one more row, so:
 * - `events` is keyed by `(id, device_id)` (WITHOUT ROWID, since version 3):
 *   the primary key *is* the exactly-once check, by device, and an event
 *   costs one row.
 * - `commits` is the seq index: one row per committed batch lists its ids in
 *   seq order, so paging by seq costs one extra row per batch, not per event.
 * - projections are upserted once per touched bucket per batch.
 */
export const LOCATION_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "event log, seq index, projections",
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        device_id TEXT,
        occurred_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        vote REAL,
        temperature REAL,
        humidity REAL,
        data TEXT
      ) WITHOUT ROWID;
      CREATE TABLE commits (
        first_seq INTEGER PRIMARY KEY,
        count INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        ids TEXT NOT NULL
      );
      CREATE TABLE minutes (
        start INTEGER PRIMARY KEY,
        votes INTEGER NOT NULL, vote_sum REAL NOT NULL,
        temperature_count INTEGER NOT NULL, temperature_sum REAL NOT NULL,
        humidity_count INTEGER NOT NULL, humidity_sum REAL NOT NULL,
        devices TEXT NOT NULL
      );
      CREATE TABLE hours (
        start INTEGER PRIMARY KEY,
        votes INTEGER NOT NULL, vote_sum REAL NOT NULL,
        temperature_count INTEGER NOT NULL, temperature_sum REAL NOT NULL,
        humidity_count INTEGER NOT NULL, humidity_sum REAL NOT NULL,
        devices TEXT NOT NULL
      );
      CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        last_seen_at INTEGER NOT NULL,
        vote REAL, vote_at INTEGER,
        temperature REAL, temperature_at INTEGER,
        humidity REAL, humidity_at INTEGER
      ) WITHOUT ROWID;
    `,
  },
];

/** The reading projections, which a rebuild empties and refills from the log. */
export const PROJECTION_TABLES = ["minutes", "hours", "devices"] as const;
/**
 * Every projection of the readings, the calendar's quarters included: what a
 * chunked rebuild builds in shadow tables and swaps in, and what retention
 * keeps the dropped prefix's totals of (its base tables).
 */
export const READING_TABLES = [...PROJECTION_TABLES, "quarters"] as const;
/** The action projections, likewise. */
export const ACTION_TABLES = ["rule_set", "alerts", "commands"] as const;

LOCATION_MIGRATIONS.push({
  version: 2,
  description: "actions: rule set, raised alerts, commands",
  sql: `
    CREATE TABLE rule_set (
      singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
      seq INTEGER NOT NULL,
      rules TEXT NOT NULL
    );
    CREATE TABLE alerts (
      rule_id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      raised_at INTEGER NOT NULL,
      value REAL,
      samples INTEGER NOT NULL,
      PRIMARY KEY (rule_id, device_id)
    ) WITHOUT ROWID;
    CREATE TABLE commands (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      device_id TEXT NOT NULL,
      payload TEXT NOT NULL,
      rule_id TEXT,
      issued_at INTEGER NOT NULL,
      delivered_at INTEGER
    );
  `,
});

LOCATION_MIGRATIONS.push({
  version: 3,
  description: "exactly once by device: the log keyed by (id, device_id)",
  // The same message id from two devices is two events; system entries (no device) hold ''. Still one row per event.
  sql: `
    CREATE TABLE events_by_device (
      id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      type TEXT NOT NULL,
      occurred_at INTEGER NOT NULL,
      recorded_at INTEGER NOT NULL,
      vote REAL,
      temperature REAL,
      humidity REAL,
      data TEXT,
      PRIMARY KEY (id, device_id)
    ) WITHOUT ROWID;
    INSERT INTO events_by_device (id, device_id, seq, type, occurred_at, recorded_at, vote, temperature, humidity, data)
      SELECT id, coalesce(device_id, ''), seq, type, occurred_at, recorded_at, vote, temperature, humidity, data FROM events;
    DROP TABLE events;
    ALTER TABLE events_by_device RENAME TO events;
  `,
});

LOCATION_MIGRATIONS.push({
  version: 4,
  description: "calendar: settings, quarter-hour buckets with votes by value",
  // A location with a log from before this version has no quarters yet: the flag makes the object rebuild its
  // projections from the log once, on load (durable-objects/location-stream.ts).
  sql: `
    CREATE TABLE settings (
      singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
      seq INTEGER NOT NULL,
      body TEXT NOT NULL
    );
    CREATE TABLE quarters (
      start INTEGER PRIMARY KEY,
      votes INTEGER NOT NULL, vote_sum REAL NOT NULL,
      temperature_count INTEGER NOT NULL, temperature_sum REAL NOT NULL,
      humidity_count INTEGER NOT NULL, humidity_sum REAL NOT NULL,
      happy INTEGER NOT NULL, neutral INTEGER NOT NULL, sad INTEGER NOT NULL,
      devices TEXT NOT NULL
    );
    INSERT INTO meta (key, value) SELECT 'calendar-rebuild', '1' WHERE EXISTS (SELECT 1 FROM commits);
  `,
});

LOCATION_MIGRATIONS.push({
  version: 5,
  description: "notifications: outbox of alert changes, notifications, acknowledgements",
  // notify_outbox: alert changes not yet fanned out to channels (an operational queue, written with the alert,
  // emptied by the fan-out's commit; a rebuild leaves it alone). The other two are projections of the log.
  sql: `
    CREATE TABLE notify_outbox (alert_seq INTEGER PRIMARY KEY);
    CREATE TABLE notifications (
      id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      alert_id TEXT NOT NULL,
      channel_id TEXT NOT NULL,
      event TEXT NOT NULL,
      queued_at INTEGER NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      last_status INTEGER,
      last_error TEXT,
      next_at INTEGER,
      done_at INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE acknowledgements (
      alert_id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      at INTEGER NOT NULL,
      comment TEXT
    ) WITHOUT ROWID;
  `,
});

LOCATION_MIGRATIONS.push({
  version: 6,
  description: "sad votes counted in minute and hour buckets (for sad-share rules)",
  // Rows written before have no sad count: the same flag as version 4 rebuilds the projections from the log once,
  // on load, so every sad-share window counts exactly (durable-objects/location-stream.ts).
  // Retention's base tables (durable-objects/location/retention.ts) must keep the live tables' shape (a rebuild copies
  // them with SELECT *): made here when retention has not made them yet (empty, as retention would start them), then
  // given the column too. Their rows (days past retention) are never in a rule's window, so their 0 is harmless.
  sql: `
    CREATE TABLE IF NOT EXISTS base_minutes (
      start INTEGER PRIMARY KEY,
      votes INTEGER NOT NULL, vote_sum REAL NOT NULL,
      temperature_count INTEGER NOT NULL, temperature_sum REAL NOT NULL,
      humidity_count INTEGER NOT NULL, humidity_sum REAL NOT NULL,
      devices TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS base_hours (
      start INTEGER PRIMARY KEY,
      votes INTEGER NOT NULL, vote_sum REAL NOT NULL,
      temperature_count INTEGER NOT NULL, temperature_sum REAL NOT NULL,
      humidity_count INTEGER NOT NULL, humidity_sum REAL NOT NULL,
      devices TEXT NOT NULL
    );
    ALTER TABLE minutes ADD COLUMN sad INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE hours ADD COLUMN sad INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE base_minutes ADD COLUMN sad INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE base_hours ADD COLUMN sad INTEGER NOT NULL DEFAULT 0;
    INSERT INTO meta (key, value) SELECT 'calendar-rebuild', '1' WHERE EXISTS (SELECT 1 FROM commits) ON CONFLICT DO NOTHING;
  `,
});

LOCATION_MIGRATIONS.push({
  version: 7,
  description: "daily digest: the log's digest-due entries indexed",
  // Partial: only digest-due rows (one a day) get an index row, so readings cost no extra row written. The object
  // reads the last one on load (when the next digest is due) instead of keeping a projection a rebuild must redo.
  sql: `CREATE INDEX events_digest_due ON events (seq) WHERE type = 'digest-due';`,
});

/** The notification projections, which a rebuild empties and refills from the log (the outbox is not one). */
export const NOTIFICATION_TABLES = ["notifications", "acknowledgements"] as const;
