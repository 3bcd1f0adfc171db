/**
 * The running parts of a test or benchmark (brokers, workers, browsers,
 * bridges…), each registered the moment it has started, so that `stopAll`
 * stops every one of them, newest first, even when a later step failed.
 */
export interface Parts {
  /** Awaits `starting`, registers `stop` for it and returns it. */
  start<T>(starting: Promise<T>, stop: (part: T) => Promise<unknown>): Promise<T>;
  /**
   * Starts several at once. Unlike Promise.all it waits for every start to
   * settle before throwing the first failure, so nothing that did start is
   * left unregistered.
   */
  startAll<T extends readonly unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T>;
  /** Registers a clean-up step (a temp dir to remove…). */
  add(stop: () => Promise<unknown>): void;
  /** Runs every stop, newest first, each for at most 30 s; throws an AggregateError of those that failed, after trying all. */
  stopAll(): Promise<void>;
}

/** How long one part may take to stop. */
const STOP_MS = 30_000;

export function createParts(): Parts {
  const stops: (() => Promise<unknown>)[] = [];
  return {
    async start(starting, stop) {
      const part = await starting;
      stops.push(() => stop(part));
      return part;
    },
    async startAll<T extends readonly unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
      const settled = await Promise.allSettled(starts);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
      return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
    },
    add(stop) {
      stops.push(stop);
    },
    async stopAll() {
      const failures: unknown[] = [];
      for (const stop of stops.splice(0).reverse()) {
        // Bounded, so one part that does not stop cannot keep the others (processes among them) running.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`a part did not stop within ${STOP_MS / 1000} s`)), STOP_MS);
        });
        try {
          await Promise.race([stop(), late]);
        } catch (e) {
          failures.push(e);
        } finally {
          clearTimeout(timer);
        }
      }
      if (failures.length) throw new AggregateError(failures, `stopping ${failures.length} part(s) failed`);
    },
  };
}
