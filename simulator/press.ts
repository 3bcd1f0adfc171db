/**
 * `npm run press -- <happy|neutral|sad> --device <id> [--location <loc>] [--times N] [--mqtt-url …]`:
 * presses a device's button and shows the command that comes back.
 * Exit 2: bad options (the message names them); 1: the broker could not be reached.
 */
import { readCliOrExit } from "../bridge/options-table";
import { PRESS_OPTIONS, buttonFirst, parsePressOptions, pressButton, pressHelp } from "./buttons";

const options = readCliOrExit("press", PRESS_OPTIONS, buttonFirst(process.argv.slice(2)), pressHelp, parsePressOptions);

try {
  await pressButton(options, (line) => process.stdout.write(line + "\n"));
} catch (e) {
  process.stderr.write(`press: ${(e as Error).message}\n`);
  process.exit(1);
}
