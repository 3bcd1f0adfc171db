/**
 * `happy-hub-bridge` / `npm run bridge`: reads the configuration from the
 * environment and flags, runs the bridge, and on SIGINT/SIGTERM stops taking
 * messages, flushes the outbox for up to SHUTDOWN_TIMEOUT_MS and exits 0.
 * Exit 2: bad configuration (the message names the option); 1: failed to start.
 */
export {}; // a module: top-level await below

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 5)) {
  process.stderr.write(`happy-hub-bridge needs Node 22.5 or later (node:sqlite); this is ${process.version}. Run it with \`npm run bridge\`.\n`);
  process.exit(1);
}

// node:sqlite still announces itself as experimental on every start; the bridge relies on it knowingly.
const emitWarning = process.emitWarning;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning).includes("SQLite is an experimental feature")) return;
  return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
}) as typeof process.emitWarning;

const { ConfigError, helpText, readCli } = await import("./config");
const { startBridge } = await import("./bridge");

let cli;
try {
  cli = readCli(process.argv.slice(2), process.env);
} catch (e) {
  process.stderr.write(`happy-hub-bridge: ${(e as Error).message}\n`);
  process.exit(2);
}
if (cli.help) {
  process.stdout.write(helpText() + "\n");
  process.exit(0);
}

let bridge;
try {
  bridge = await startBridge(cli.input);
} catch (e) {
  process.stderr.write(`happy-hub-bridge: ${e instanceof ConfigError ? e.message : `cannot start: ${(e as Error).message}`}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
}

const running = bridge;
let signalled = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (signalled) {
    process.stderr.write(`happy-hub-bridge: ${signal} again; exiting now (the outbox keeps what is unsent)\n`);
    process.exit(1);
  }
  signalled = true;
  // A bound on top of the flush bound, in case closing the source hangs.
  setTimeout(() => process.exit(0), running.config.shutdownTimeoutMs + 5_000).unref();
  void running.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
