/**
 * Polls `probe` until it answers something (not null or undefined) and
 * returns that; throws naming `what` once `deadline` (epoch ms) has passed.
 * For what the runtime does on its own time: alarms, chunks, pushes.
 */
export async function until<T>(what: string, deadline: number, probe: () => Promise<T | null | undefined>, pollMs = 100): Promise<T> {
  for (;;) {
    const found = await probe();
    if (found !== null && found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
