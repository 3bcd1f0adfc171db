import { COMMAND_HUB_NAME } from "../durable-objects/command-hub";
import { DIRECTORY_NAME } from "../durable-objects/directory";

/** The object that owns `location` (one per name, anywhere in the world). */
export const locationStub = (env: Env, location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));

export const directoryStub = (env: Env) => env.DIRECTORY.get(env.DIRECTORY.idFromName(DIRECTORY_NAME));

/** The one commands hub: the fleet's queue of undelivered commands and the bridge's socket. */
export const commandHubStub = (env: Env) => env.COMMAND_HUB.get(env.COMMAND_HUB.idFromName(COMMAND_HUB_NAME));
