import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { OutboxSync } from "./config";

/**
 * Opens the bridge's SQLite file under `stateDir` in WAL mode.
 * `normal`: a commit survives the process being killed (the WAL write is in the
 * OS before PUBACK) but the last commits may roll back on power loss;
 * `full`: every commit is fsynced, surviving power loss at the cost of one
 * fsync per commit.
 */
export function openStateDb(stateDir: string, sync: OutboxSync): DatabaseSync {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, "bridge.sqlite");
  const db = new DatabaseSync(path);
  try {
    // Exclusive: one bridge per state directory (two would interleave their outbox sequence). The lock is
    // taken now, so a second bridge fails at start-up; the OS drops it when the process dies, even by SIGKILL.
    db.exec(`PRAGMA busy_timeout = 2000; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}; BEGIN EXCLUSIVE; COMMIT;`);
  } catch (e) {
    db.close();
    throw new Error(`cannot lock ${path}: is another bridge using this BRIDGE_STATE_DIR? (${(e as Error).message})`);
  }
  return db;
}
