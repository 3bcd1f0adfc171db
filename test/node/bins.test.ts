import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev";

/** The package's bins run from lib/, the committed JavaScript `npm run build` bundles from bridge/ and cli/. */
const NODE_22 = join(ROOT, "node_modules/node/bin/node");
/** The machine's own Node (20 here): the CLI runs on it; the bridge must say clearly that it needs 22.5. */
const SYSTEM_NODE = "/usr/bin/node";

const temps: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();

describe("bins", () => {
  it("lib/ is exactly what npm run build makes of the current sources", () => {
    const out = temp("happy-hub-bins-");
    execFileSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/build.ts", "--bins-to", out], { cwd: ROOT, stdio: "pipe" });
    const lib = join(ROOT, "lib");
    expect(files(lib), "lib/ is stale: run `npm run build` and commit lib/").toEqual(files(out));
    for (const f of files(out)) expect(readFileSync(join(lib, f), "utf8"), `lib/${f} is stale: run \`npm run build\``).toBe(readFileSync(join(out, f), "utf8"));
  });

  it("a production install (npm ci --omit=dev) of a copy of the repo runs both bins' --help", { timeout: 300_000 }, () => {
    const copy = temp("happy-hub-install-");
    // What a clone holds: tracked files plus new ones not ignored (the working tree under test).
    const list = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
    for (const f of list) {
      if (!existsSync(join(ROOT, f))) continue; // deleted, not yet committed
      mkdirSync(dirname(join(copy, f)), { recursive: true });
      execFileSync("cp", ["-p", join(ROOT, f), join(copy, f)]);
    }
    const env = { ...process.env, PATH: `${dirname(NODE_22)}:${process.env.PATH}`, npm_config_yes: "false", npm_config_fund: "false", npm_config_audit: "false" };
    const install = spawnSync("npm", ["ci", "--omit=dev"], { cwd: copy, env, encoding: "utf8", timeout: 240_000 });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    // Production only: no TypeScript tooling to lean on.
    for (const dev of ["tsx", "typescript", "esbuild", "wrangler", "vite"]) expect(existsSync(join(copy, "node_modules", dev)), dev).toBe(false);
    expect(existsSync(join(copy, "node_modules/aedes")), "aedes (the embedded broker) is a runtime dependency").toBe(true);
    console.log(`production install: ${relative(copy, join(copy, "node_modules"))} holds ${readdirSync(join(copy, "node_modules")).length} entries`);

    // As the README says: npx in the project, Node 22.
    for (const [bin, usage] of [["happy-hub-bridge", "Usage: happy-hub-bridge"], ["happy-hub", "Usage: happy-hub <command>"]] as const) {
      const run = spawnSync("npx", [bin, "--help"], { cwd: copy, env, encoding: "utf8", timeout: 60_000 });
      expect(run.status, `npx ${bin} --help (Node 22)\n${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout).toContain(usage);
    }
    // The machine's Node 20: the CLI works; the bridge names the version it needs (exit 1), nothing obscure.
    expect(execFileSync(SYSTEM_NODE, ["--version"], { encoding: "utf8" })).toMatch(/^v20\./);
    const cli = spawnSync(SYSTEM_NODE, [join(copy, "bin/happy-hub.mjs"), "--help"], { cwd: copy, encoding: "utf8" });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain("Usage: happy-hub <command>");
    const bridge = spawnSync(SYSTEM_NODE, [join(copy, "bin/happy-hub-bridge.mjs"), "--help"], { cwd: copy, encoding: "utf8" });
    expect(bridge.status).toBe(1);
    expect(bridge.stderr).toMatch(/^happy-hub-bridge needs Node 22\.5 or later \(node:sqlite\); this is v20\./);
  });
});
