import { DurableObject } from "cloudflare:workers";
import { migrate } from "./migrations";

/** The one Directory instance's name. */
export const DIRECTORY_NAME = "directory";

/**
 * Remembers which locations exist, so `GET /api/v1/locations` survives
 * restarts without scanning object ids. A location registers itself after its
 * first committed event; the figures per location come from the locations.
 */
export class Directory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, [
      {
        version: 1,
        description: "known locations",
        sql: "CREATE TABLE locations (name TEXT PRIMARY KEY, registered_at INTEGER NOT NULL) WITHOUT ROWID",
      },
    ]);
  }

  register(location: string): void {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO locations (name, registered_at) VALUES (?, ?)", location, Date.now());
  }

  list(): string[] {
    return this.ctx.storage.sql
      .exec<{ name: string }>("SELECT name FROM locations ORDER BY name")
      .toArray()
      .map((r) => r.name);
  }
}
