import { COMMAND_HUB_NAME } from "../durable-objects/command-hub";
import { requireValidRetention } from "./retention-setting";

/** The object that owns `location` (one per name, anywhere in the world). */
export const locationStub = (env: Env, location: string) => {
  requireValidRetention(env);
  return env.LOCATIONS.get(env.LOCATIONS.idFromName(location));
};

/** The one commands hub: the fleet's queue of undelivered commands and the bridge's socket. */
export const commandHubStub = (env: Env) => env.COMMAND_HUB.get(env.COMMAND_HUB.idFromName(COMMAND_HUB_NAME));

export { fleetStub } from "../durable-objects/fleet";
