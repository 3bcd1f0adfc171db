import { accessSync, constants } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";

/**
 * Command-line tools configured by one table of options: each has a flag,
 * maybe an environment variable, a default, a zod schema and a line of help.
 * The same table parses, validates, names options in errors and prints
 * `--help`, so an option cannot be documented under one name and read under
 * another. Flags win over the environment; empty variables count as unset.
 */

export interface OptionSpec {
  /** Environment variable; the flag defaults to it in lower case with dashes (`MQTT_URL` → `--mqtt-url`). */
  env?: string;
  flag?: string;
  help: string;
  /** Shown by --help (unless `shownDefault` is set); also the value used when nothing is set. */
  default?: string;
  shownDefault?: string;
  schema: z.ZodType;
  /** Never echoed back. */
  secret?: boolean;
  group: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** Values as parsed; options without a default may be undefined. */
export type ParsedOptions<T extends OptionTable> = {
  [K in keyof T]: T[K] extends { default: string } ? z.output<T[K]["schema"]> : z.output<T[K]["schema"]> | undefined;
};

/** What code may pass: each option as its parsed type or as the string a variable would hold. */
export type OptionsInput<T extends OptionTable> = { [K in keyof T]?: z.input<T[K]["schema"]> | string };

export class OptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "OptionsError";
  }
}

export const flagOf = (spec: OptionSpec): string => spec.flag ?? `--${spec.env!.toLowerCase().replace(/_/g, "-")}`;

/** How errors name an option: `MQTT_URL (--mqtt-url)` or `--devices`. */
export const describeOption = (spec: OptionSpec): string => (spec.env ? `${spec.env} (${flagOf(spec)})` : flagOf(spec));

export type CliParse<T extends OptionTable> = { help: true } | { help: false; input: OptionsInput<T> };

/**
 * Reads the environment, then `argv` (`--flag value` or `--flag=value`, through
 * `node:util` `parseArgs`). A true/false option may stand alone (`--print-routes`
 * means `--print-routes true`). Throws OptionsError for unknown flags, stray
 * arguments and missing values, naming each.
 */
export function readCli<T extends OptionTable>(table: T, argv: readonly string[], env: Record<string, string | undefined>): CliParse<T> {
  const input: Record<string, string> = {};
  const keys = Object.keys(table);
  for (const key of keys) {
    const name = table[key]!.env;
    const value = name === undefined ? undefined : env[name];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const byName = new Map(keys.map((k) => [flagOf(table[k]!).replace(/^--/, ""), k]));
  const options: ParseArgsConfig["options"] = { help: { type: "boolean", short: "h" } };
  for (const [name, key] of byName) options[name] = { type: table[key]!.schema === bool ? "boolean" : "string" };
  // Not strict: every problem is collected and reported in the table's own words, not parseArgs's.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const problems: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === "positional") {
      problems.push(`unexpected argument ${token.value} (options are --name value)`);
      continue;
    }
    if (token.kind === "option-terminator") {
      problems.push("unexpected argument -- (options are --name value)");
      continue;
    }
    if (token.name === "help") return { help: true };
    const key = byName.get(token.name);
    const next = tokens[i + 1];
    if (key === undefined) {
      problems.push(`unknown option ${token.rawName} (see --help)`);
      if (token.value === undefined && next?.kind === "positional") i++; // its value
      continue;
    }
    const spec = table[key]!;
    let value = token.value;
    if (value === undefined && spec.schema === bool) {
      // Alone, or followed by its value (parseArgs reads the value of a boolean as a stray argument).
      if (next?.kind === "positional") {
        value = next.value;
        i++;
      } else {
        value = "true";
      }
    }
    if (value === undefined) problems.push(`${describeOption(spec)}: needs a value`);
    else input[key] = value;
  }
  if (problems.length) throw new OptionsError(problems);
  return { help: false, input: input as OptionsInput<T> };
}

/** Validates every option (defaults filled in); returns the values and one line per bad option. */
export function parseOptions<T extends OptionTable>(table: T, input: OptionsInput<T>): { values: ParsedOptions<T>; problems: string[] } {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const raw = (input as Record<string, unknown>)[key] ?? spec.default;
    if (raw === undefined) continue;
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(`${describeOption(spec)}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  }
  return { values: values as ParsedOptions<T>, problems };
}

/** `--help`: usage lines, then every option with its variable, default and meaning, by group. */
export function helpText(table: OptionTable, usage: string[]): string {
  const lines = [...usage];
  let group = "";
  for (const spec of Object.values(table)) {
    if (spec.group !== group) {
      group = spec.group;
      lines.push("", `${group}:`);
    }
    const shown = spec.shownDefault ?? spec.default;
    lines.push(`  ${flagOf(spec)} <value>${spec.env ? `  ${spec.env}` : ""}${shown === undefined ? "" : `  (default: ${shown})`}`);
    lines.push(`      ${spec.help.replace(/`/g, "")}`);
  }
  lines.push("", "  --help, -h  Show this help.");
  return lines.join("\n");
}

/** The values as safe to log: secrets replaced by "***". */
export function redact(table: OptionTable, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) out[key] = spec.secret && values[key] !== undefined ? "***" : values[key];
  return out;
}

// Schemas for option values, which arrive as strings from the environment or flags (or typed, from code).

export const int = (min: number, max: number) =>
  z
    .union([z.number(), z.string().trim().regex(/^-?\d+$/, "must be an integer").transform(Number)], { error: "must be an integer" })
    .pipe(z.number().int("must be an integer").min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const decimal = (min: number, max: number) =>
  z
    .union([z.number(), z.string().trim().regex(/^-?\d+(\.\d+)?$/, "must be a number").transform(Number)], { error: "must be a number" })
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const bool = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" }))
    .transform((s) => s === "true" || s === "1" || s === "yes"),
]);

export const text = z.string().trim().min(1, "must not be empty");

export const url = (protocols: readonly string[]) =>
  text.refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(", ")}` },
  );

export const MQTT_URL_PROTOCOLS = ["mqtt:", "mqtts:", "tcp:", "ssl:", "tls:", "ws:", "wss:"] as const;

/** `3.1.1` (or mqtt.js's 4) or `5`, as mqtt.js's protocolVersion. */
export const mqttProtocolVersion = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .pipe(z.enum(["3.1.1", "4", "5"], { error: "must be 3.1.1 or 5" }))
  .transform((v): 4 | 5 => (v === "5" ? 5 : 4));

export const readableFile = text.refine(
  (path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  { error: "file does not exist or is not readable" },
);

/**
 * What every command-line entry does with its options: `--help` prints `help()`
 * and exits 0; a bad option prints `{name}: {message}` (naming the option) and
 * exits 2; otherwise returns `parse(input)`.
 */
export function readCliOrExit<T extends OptionTable, R>(
  name: string,
  table: T,
  argv: readonly string[],
  help: () => string,
  parse: (input: OptionsInput<T>) => R,
): R {
  try {
    const cli = readCli(table, argv, process.env);
    if (cli.help) {
      process.stdout.write(help() + "\n");
      process.exit(0);
    }
    return parse(cli.input);
  } catch (e) {
    if (!(e instanceof OptionsError)) throw e;
    process.stderr.write(`${name}: ${e.message}\n`);
    process.exit(2);
  }
}
