import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/wrangler-dev";

export interface Baseline {
  rev: string;
  /** A checkout of `rev` that can run `wrangler dev` (this checkout's node_modules and built dashboard). */
  root: string;
  dispose(): void;
}

/**
 * Checks out `rev` beside this checkout (a detached git worktree in a temp
 * dir), so a benchmark can run the old build and the new one in one run, on
 * one machine state: before/after figures on a noisy machine are only
 * comparable that way.
 */
export function checkoutBaseline(rev: string): Baseline {
  const root = mkdtempSync(join(tmpdir(), "happy-hub-baseline-"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }).toString().trim();
  const sha = git("rev-parse", "--short", rev);
  git("worktree", "add", "--detach", "--force", root, rev);
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  if (existsSync(join(ROOT, "dist"))) symlinkSync(join(ROOT, "dist"), join(root, "dist"));
  return {
    rev: sha,
    root,
    dispose: () => {
      try {
        git("worktree", "remove", "--force", root);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
