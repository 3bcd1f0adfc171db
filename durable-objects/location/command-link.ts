import type { Command } from "../../protocol";
import { COMMAND_HUB_NAME } from "../command-hub";

/**
 * The location's link to the commands hub: hands it the commands a commit
 * issued. Idempotent (the hub keys them by location and command id), so a
 * caller retries it until it resolves: a command the hub never got never
 * reaches the bridge.
 */
export async function forwardCommands(env: Env, location: string, commands: readonly Omit<Command, "location">[]): Promise<void> {
  if (commands.length === 0) return;
  const hub = env.COMMAND_HUB.get(env.COMMAND_HUB.idFromName(COMMAND_HUB_NAME));
  await hub.enqueue(
    location,
    commands.map(({ seq, id, deviceId, payload, ruleId, issuedAt }) => ({ seq, id, deviceId, payload, ruleId, issuedAt })),
  );
}
