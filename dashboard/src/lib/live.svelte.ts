import { onMount } from "svelte";
import { fetchEvents, liveUrl } from "./api";
import { LiveConnection, type ConnectionState } from "./connection";
import { applyFrame, applyOlder, backfillRange, emptyFeed, type Feed } from "./feed";
import { readFrame, type Frame } from "./frames";

export interface LiveFeedOptions {
  /**
   * A view that lists events: resume from the last seq seen after a drop, and
   * fill the table from older entries when the snapshot leaves it short.
   * Otherwise (a card) each reconnect starts fresh.
   */
  resume: boolean;
  /** Called after each frame that brought events. */
  onEvents?: (frame: Frame) => void;
  /** Called after each `window` frame (the window aged with no new event). */
  onWindow?: (frame: Frame) => void;
}

/**
 * One location's live feed for a component: its socket opens on mount and
 * closes on destroy; `feed`, `state` and `retryAt` are reactive.
 */
export class LiveFeed {
  feed = $state.raw<Feed>(emptyFeed());
  state = $state<ConnectionState>("connecting");
  /** When the next reconnect attempt is due (client ms), while not live. */
  retryAt = $state<number | null>(null);
  readonly #connection: LiveConnection<Frame>;

  constructor(location: string, options: LiveFeedOptions) {
    this.#connection = new LiveConnection({
      url: (since) => liveUrl(window.location, location, since),
      resumeFrom: () => (options.resume ? this.feed.cursor : null),
      read: readFrame,
      onFrame: (frame, resumedFrom) => {
        this.feed = applyFrame(this.feed, frame, resumedFrom, Date.now());
        if (options.resume && frame.type === "snapshot" && resumedFrom === null) void this.#backfill(location);
        if (frame.events.length > 0) options.onEvents?.(frame);
        if (frame.type === "window") options.onWindow?.(frame);
      },
      onState: (state, retryInMs) => {
        this.state = state;
        this.retryAt = retryInMs === null ? null : Date.now() + retryInMs;
      },
    });
    onMount(() => {
      const retry = () => this.#connection.retryNow();
      window.addEventListener("online", retry);
      this.#connection.start();
      return () => {
        window.removeEventListener("online", retry);
        this.#connection.stop();
      };
    });
  }

  get live(): boolean {
    return this.state === "live";
  }

  retryNow(): void {
    this.#connection.retryNow();
  }

  async #backfill(location: string): Promise<void> {
    const range = backfillRange(this.feed);
    if (range === null) return;
    try {
      this.feed = applyOlder(this.feed, await fetchEvents(location, range));
    } catch (e) {
      console.warn(`[backfill] ${e instanceof Error ? e.message : String(e)}`);
    }
  }

}
