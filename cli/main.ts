/**
 * `happy-hub`: the operator's CLI. `happy-hub --help` lists the commands,
 * `happy-hub <command> --help` explains one. Exit codes: 0 done, 1 failed
 * (the API's error and its reasons are printed), 2 usage.
 */
import { parseArgs } from "node:util";
import { apiClient, CliFailure } from "./api";
import { COMMANDS } from "./commands";
import { CONFIG_HELP, resolveConfig, UsageError } from "./config";

const GLOBAL_OPTIONS = {
  url: { type: "string" },
  "admin-token": { type: "string" },
  "viewer-token": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const mainHelp = () => `Usage: happy-hub <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.padEnd(60)} ${c.summary}`)
  .join("\n")}

${CONFIG_HELP}

happy-hub <command> --help explains a command.`;

const commandHelp = (name: string) => {
  const c = COMMANDS[name]!;
  const own = Object.entries(c.options ?? {}).map(([flag, o]) => `--${flag}${o.type === "string" ? " <value>" : ""}`);
  return `Usage: happy-hub ${c.usage}

${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.${c.details ? `\n${c.details}` : ""}
${own.length ? `\nOptions: ${own.join(", ")}\n` : ""}
${CONFIG_HELP}`;
};

async function main(argv: string[]): Promise<number> {
  const name = argv.find((a) => !a.startsWith("-"));
  const command = name === undefined ? undefined : COMMANDS[name];
  if (name !== undefined && !command) throw new UsageError(`unknown command ${JSON.stringify(name)}; see happy-hub --help`);
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) },
    allowPositionals: true,
    strict: true,
  });
  if (!command) {
    process.stdout.write(mainHelp() + "\n");
    return values.help ? 0 : 2;
  }
  if (values.help) {
    process.stdout.write(commandHelp(name!) + "\n");
    return 0;
  }
  const args = positionals.slice(1);
  if (args.length > command.maxArgs) throw new UsageError(`unexpected argument ${JSON.stringify(args[command.maxArgs])}; see happy-hub ${name} --help`);
  const config = resolveConfig(values, process.env, process.cwd());
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());
  await command.run({
    args,
    flags: values,
    api: apiClient(config),
    json: config.json,
    out: (text) => process.stdout.write(text + "\n"),
    signal: stop.signal,
  });
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`happy-hub: ${(e as Error).message}\n`);
    process.exitCode = 2;
  } else if (e instanceof CliFailure) {
    process.stderr.write(`happy-hub: ${e.message}\n${e.reasons.map((r) => `  - ${r}\n`).join("")}`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`happy-hub: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
