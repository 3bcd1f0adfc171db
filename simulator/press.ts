/**
 * `npm run press -- <happy|neutral|sad> --device <id> [--location <loc>] [--times N] [--mqtt-url …]`:
 * presses a device's button and shows the command that comes back.
 * Exit 2: bad options (the message names them); 1: the broker could not be reached.
 */
import { OptionsError, readCli } from "../bridge/options-table";
import { PRESS_OPTIONS, buttonFirst, parsePressOptions, pressButton, pressHelp } from "./buttons";

let options;
try {
  const cli = readCli(PRESS_OPTIONS, buttonFirst(process.argv.slice(2)), process.env);
  if (cli.help) {
    process.stdout.write(pressHelp() + "\n");
    process.exit(0);
  }
  options = parsePressOptions(cli.input);
} catch (e) {
  if (!(e instanceof OptionsError)) throw e;
  process.stderr.write(`press: ${e.message}\n`);
  process.exit(2);
}

try {
  await pressButton(options, (line) => process.stdout.write(line + "\n"));
} catch (e) {
  process.stderr.write(`press: ${(e as Error).message}\n`);
  process.exit(1);
}
