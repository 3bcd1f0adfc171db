import { registryStub } from "../durable-objects/device-registry";

/**
 * Counts of events refused at ingest per registered device (disabled ones),
 * written to the registry coalesced: requests add to this isolate's pending
 * counts, and one call at a time carries everything pending. Ingest never
 * waits for it (`waitUntil`). A failed call is logged and its counts are
 * lost: the counter is a gauge for people, not an audit log.
 */
const pending = new Map<string, number>();
let flushing: Promise<void> | null = null;

async function flush(env: Env): Promise<void> {
  try {
    while (pending.size > 0) {
      const counts = [...pending];
      pending.clear();
      try {
        await registryStub(env).countRejected(counts);
      } catch (error) {
        console.error(JSON.stringify({ level: "error", msg: "counting refused events failed", devices: counts.length, error: String(error) }));
        return;
      }
    }
  } finally {
    flushing = null;
  }
}

export function countRejected(env: Env, waitUntil: (promise: Promise<unknown>) => void, deviceIds: readonly string[]): void {
  if (deviceIds.length === 0) return;
  for (const id of deviceIds) pending.set(id, (pending.get(id) ?? 0) + 1);
  flushing ??= flush(env);
  waitUntil(flushing);
}
