/**
 * Runs `task` at most once per `everyMs`: the first call schedules it after
 * `everyMs`, later calls until then fold into that one run.
 */
export function throttle(task: () => unknown, everyMs: number): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      void task();
    }, everyMs);
  };
}
