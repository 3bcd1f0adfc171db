import type { DeviceRoute } from "../domain/devices/admit";
import { registryStub } from "../durable-objects/device-registry";
import { ApiError } from "./errors";

/** An isolate's copy of the registry's routes is asked about at most this long after it was last brought up to date. */
export const REVALIDATE_MS = 500;

/**
 * This isolate's copy of every registered device's route (where its events
 * go, whether it may send), for ingest to look up without a call per event.
 *
 * The copy carries the registry's version; once it is REVALIDATE_MS old, the
 * next ingest asks the registry for the routes changed since (one small RPC;
 * concurrent requests share it) and waits for the answer, so a change
 * (enable, disable, move, remove) is in force everywhere within
 * REVALIDATE_MS plus one call, however quiet the isolate was. A change made
 * through this isolate's own routes is seen at once (`invalidate`).
 */
class RegistryCache {
  private readonly routes = new Map<string, DeviceRoute>();
  private epoch: string | null = null;
  private version = 0;
  private checkedAt = -Infinity;
  private refreshing: Promise<void> | null = null;

  /** The routes, brought up to date first when the copy is older than REVALIDATE_MS. */
  async current(env: Env): Promise<ReadonlyMap<string, DeviceRoute>> {
    if (Date.now() - this.checkedAt >= REVALIDATE_MS) {
      this.refreshing ??= this.refresh(env).finally(() => (this.refreshing = null));
      await this.refreshing;
    }
    return this.routes;
  }

  /** The next lookup asks the registry first. */
  invalidate(): void {
    this.checkedAt = -Infinity;
  }

  private async refresh(env: Env): Promise<void> {
    const started = Date.now();
    let changes: Awaited<ReturnType<ReturnType<typeof registryStub>["changesSince"]>>;
    try {
      changes = await registryStub(env).changesSince(this.epoch, this.version);
    } catch (error) {
      // Without an up-to-date copy a disabled device could slip through: refuse the batch; the bridge retries a 503.
      console.error(JSON.stringify({ level: "error", msg: "device registry did not answer", error: String(error) }));
      throw new ApiError(503, "the device registry did not answer", ["nothing was stored; retry shortly"], { "Retry-After": "1" });
    }
    // Another epoch: the registry's storage is not the one this copy came from, and the answer holds every device.
    if (changes.epoch !== this.epoch) this.routes.clear();
    for (const { deviceId, route } of changes.routes) {
      if (route === null) this.routes.delete(deviceId);
      else this.routes.set(deviceId, route);
    }
    this.epoch = changes.epoch;
    this.version = changes.version;
    // Dated from before the call: a change committed while it was in flight is asked about again in time.
    this.checkedAt = started;
  }
}

export const registryCache = new RegistryCache();
