import { onMount } from "svelte";
import { fleetUrl } from "./api";
import { LiveConnection, type ConnectionState } from "./connection";
import { applyFleetFrame, byName, emptyFleet, readFleetFrame, type FleetFrameRead, type FleetView } from "./fleet";
import type { FleetSummary } from "../../../protocol";

/**
 * The whole fleet over one socket, for the overview: the snapshot, then each
 * change as the locations publish it. Opens on mount, closes on destroy;
 * every reconnect starts from a fresh snapshot (no resume: it is one frame
 * per ~3,000 locations).
 */
export class FleetFeed {
  view = $state.raw<FleetView>(emptyFleet());
  state = $state<ConnectionState>("connecting");
  /** When the next reconnect attempt is due (client ms), while not live. */
  retryAt = $state<number | null>(null);
  /** Every location shown, in name order; null until the first snapshot is complete. */
  readonly locations: FleetSummary[] | null = $derived(this.view.shown && [...this.view.shown.values()].sort(byName));
  readonly #connection: LiveConnection<FleetFrameRead>;

  constructor() {
    this.#connection = new LiveConnection({
      url: () => fleetUrl(window.location),
      resumeFrom: () => null,
      read: readFleetFrame,
      onFrame: (frame) => {
        this.view = applyFleetFrame(this.view, frame);
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

  retryNow(): void {
    this.#connection.retryNow();
  }
}
