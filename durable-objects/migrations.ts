/**
 * Versioned schema changes for an object's SQLite database. The platform has
 * no `PRAGMA user_version`, so applied versions are rows of `_migrations`.
 * Each migration runs with its bookkeeping row in one transaction.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  const applied = new Set(sql.exec<{ version: number }>("SELECT version FROM _migrations").toArray().map((r) => r.version));
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    storage.transactionSync(() => {
      sql.exec(m.sql);
      sql.exec("INSERT INTO _migrations (version, description, applied_at) VALUES (?, ?, ?)", m.version, m.description, Date.now());
    });
  }
}
