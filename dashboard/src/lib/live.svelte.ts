import { onMount } from "svelte";
import { liveUrl } from "./api";
import { LiveConnection, type ConnectionState } from "./connection";
import { applyFrame, applySummary, emptyFeed, type Feed } from "./feed";
import type { Frame } from "./frames";

export interface LiveFeedOptions {
  /** Resume from the last seq seen after a drop (a view that lists events); else each reconnect starts fresh. */
  resume: boolean;
  /** Called after each frame that brought events. */
  onEvents?: (frame: Frame) => void;
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
  readonly #connection: LiveConnection;

  constructor(location: string, options: LiveFeedOptions) {
    this.#connection = new LiveConnection({
      url: (since) => liveUrl(window.location, location, since),
      resumeFrom: () => (options.resume ? this.feed.cursor : null),
      onFrame: (frame, resumedFrom) => {
        this.feed = applyFrame(this.feed, frame, resumedFrom, Date.now());
        if (frame.events.length > 0) options.onEvents?.(frame);
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

  /** A polled summary: the window ages between events. */
  refresh(summary: Parameters<typeof applySummary>[1]): void {
    this.feed = applySummary(this.feed, summary, Date.now());
  }
}
