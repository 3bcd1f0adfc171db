/**
 * `npm run simulate -- [options]`: simulated devices until Ctrl-C (or
 * --count / --duration). `--print-routes` prints the bridge's ROUTES_FILE
 * for the devices. Exit 2: bad options (the message names them).
 */
import { OptionsError, readCli } from "../bridge/options-table";
import { SIMULATOR_OPTIONS, parseSimulatorOptions, simulatorHelp } from "./options";
import { routesFor, startSimulator } from "./simulator";

let cli;
let options;
try {
  cli = readCli(SIMULATOR_OPTIONS, process.argv.slice(2), process.env);
  if (cli.help) {
    process.stdout.write(simulatorHelp() + "\n");
    process.exit(0);
  }
  options = parseSimulatorOptions(cli.input);
} catch (e) {
  if (!(e instanceof OptionsError)) throw e;
  process.stderr.write(`simulate: ${e.message}\n`);
  process.exit(2);
}

if (options.printRoutes) {
  process.stdout.write(JSON.stringify(routesFor(options), null, 2) + "\n");
  process.exit(0);
}

let simulator;
try {
  simulator = await startSimulator(cli.input);
} catch (e) {
  process.stderr.write(`simulate: cannot start: ${(e as Error).message}\n`);
  process.exit(1);
}
const running = simulator;
const stop = () => void running.stop().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
void running.finished.then(stop);
