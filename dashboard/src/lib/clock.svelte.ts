import { onMount } from "svelte";

/**
 * A clock for ages ("12 s ago") and staleness: reactive `now`, ticking every
 * `everyMs` while the component that asked for it is mounted.
 */
export function useClock(everyMs = 5_000): { readonly now: number } {
  let now = $state(Date.now());
  onMount(() => {
    const timer = setInterval(() => (now = Date.now()), everyMs);
    return () => clearInterval(timer);
  });
  return {
    get now() {
      return now;
    },
  };
}
