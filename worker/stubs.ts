import { DIRECTORY_NAME } from "../durable-objects/directory";

/** The object that owns `location` (one per name, anywhere in the world). */
export const locationStub = (env: Env, location: string) => env.LOCATIONS.get(env.LOCATIONS.idFromName(location));

export const directoryStub = (env: Env) => env.DIRECTORY.get(env.DIRECTORY.idFromName(DIRECTORY_NAME));

export { fleetStub } from "../durable-objects/fleet";
