import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/**
 * CPU time of a process tree, from Linux's /proc: what each part of a
 * benchmark (broker, bridge, runtime…) burnt over a stretch, so a latency
 * can be told apart from a machine that ran out of cores.
 */

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

interface ProcessCpu {
  ppid: number;
  /** utime + stime, seconds. */
  seconds: number;
  /** The command line, arguments joined by spaces. */
  command: string;
}

function readProcess(pid: number): ProcessCpu | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": the name may hold spaces and parentheses, so cut at the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return { ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND, command };
  } catch {
    return null; // it exited while we looked
  }
}

/** CPU seconds so far of `root` and every descendant, by pid. */
export function treeCpu(root = process.pid): Map<number, ProcessCpu> {
  const all = new Map<number, ProcessCpu>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const p = readProcess(Number(entry));
    if (p) all.set(Number(entry), p);
  }
  const tree = new Map<number, ProcessCpu>();
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid, hops = 0; at !== undefined && at > 0 && hops < 64; at = all.get(at)?.ppid, hops++) {
      if (at === root) return true;
    }
    return false;
  };
  for (const [pid, p] of all) if (inTree(pid)) tree.set(pid, p);
  return tree;
}

/**
 * Share of one core each part used between two `treeCpu` readings, `wallSeconds`
 * apart, grouped by `label(command)` (processes it labels null are left out).
 * 1.0 is one full core.
 */
export function coresUsed(
  before: Map<number, ProcessCpu>,
  after: Map<number, ProcessCpu>,
  wallSeconds: number,
  label: (command: string) => string | null,
): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [pid, p] of after) {
    const name = label(p.command);
    if (name === null) continue;
    const spent = p.seconds - (before.get(pid)?.seconds ?? 0);
    used[name] = (used[name] ?? 0) + spent / wallSeconds;
  }
  return used;
}

/**
 * How many cores this machine gives right now: `spinners` processes (one per
 * core by default) spin for `ms` and report the CPU they got. On a machine
 * shared with others this is well below the core count, and a latency
 * measured meanwhile tells more about the neighbours than about the code.
 */
export async function coresAvailable(ms = 1_000, spinners = cpus().length): Promise<number> {
  // CPU got while spinning, over the time spun (start-up excluded).
  const spin = `const c=process.cpuUsage(),t=performance.now();while(performance.now()-t<${ms}){}const u=process.cpuUsage(c);process.stdout.write(String((u.user+u.system)/1e3/(performance.now()-t)))`;
  const used = await Promise.all(
    Array.from({ length: spinners }, () =>
      new Promise<number>((resolve, reject) =>
        execFile(process.execPath, ["-e", spin], (error, stdout) => (error ? reject(error) : resolve(Number(stdout)))),
      ),
    ),
  );
  return used.reduce((a, b) => a + b, 0);
}
