/**
 * `npm run simulate -- [options]`: simulated devices until Ctrl-C (or
 * --count / --duration). `--print-routes` prints the bridge's ROUTES_FILE
 * for the devices. Exit 2: bad options (the message names them).
 */
import { readCliOrExit } from "../bridge/options-table";
import { SIMULATOR_OPTIONS, parseSimulatorOptions, simulatorHelp } from "./options";
import { routesFor, startSimulator } from "./simulator";

const { input, options } = readCliOrExit("simulate", SIMULATOR_OPTIONS, process.argv.slice(2), simulatorHelp, (input) => ({
  input,
  options: parseSimulatorOptions(input),
}));

if (options.printRoutes) {
  process.stdout.write(JSON.stringify(routesFor(options), null, 2) + "\n");
  process.exit(0);
}

let simulator;
try {
  simulator = await startSimulator(input);
} catch (e) {
  process.stderr.write(`simulate: cannot start: ${(e as Error).message}\n`);
  process.exit(1);
}
const running = simulator;
const stop = () => void running.stop().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
void running.finished.then(stop);
