import type { CommandIssuedEvent, LogEvent } from "../../protocol";
import { COMMAND_HUB_NAME } from "../command-hub";

/**
 * The location's link to the commands hub: hands it the commands a commit
 * issued. Idempotent (the hub keys them by location and command id), so a
 * caller retries it until it resolves: a command the hub never got never
 * reaches the bridge.
 */
export async function forwardCommands(env: Env, location: string, commands: readonly CommandIssuedEvent[]): Promise<void> {
  if (commands.length === 0) return;
  const hub = env.COMMAND_HUB.get(env.COMMAND_HUB.idFromName(COMMAND_HUB_NAME));
  await hub.enqueue(
    location,
    commands.map((e) => ({ seq: e.seq, id: e.id, deviceId: e.deviceId, payload: e.payload, ruleId: e.ruleId, issuedAt: e.occurredAt })),
  );
}

/** The `command-issued` entries among committed ones. */
export const issuedCommands = (stored: readonly LogEvent[]): CommandIssuedEvent[] => stored.filter((e): e is CommandIssuedEvent => e.type === "command-issued");
