import { systemId, type Rule } from "../../protocol";
import type { Action } from "../../domain/rules";
import { dataEntry, type NewEntry } from "./event-log";

/**
 * Turns decided actions into log entries, given the seq the first will get.
 * Ids are `~kind-seq`, so the same decisions at the same place in the log
 * always get the same ids (a replay reproduces them exactly).
 */
export function actionEntries(actions: readonly Action[], firstSeq: number, at: number): NewEntry[] {
  const ids = actions.map((a, i) => systemId(a.type === "command-issued" ? "cmd" : a.type === "alert-raised" ? "alert" : "clear", firstSeq + i));
  return actions.map((a, i) => {
    if (a.type === "command-issued") {
      const { causeIndex, type, deviceId, ...fields } = a;
      return dataEntry(ids[i]!, type, deviceId, at, { ...fields, cause: ids[causeIndex] ?? null });
    }
    const { type, deviceId, ...fields } = a;
    return dataEntry(ids[i]!, type, deviceId, at, fields);
  });
}

export const rulesEntry = (rules: Rule[], seq: number, at: number): NewEntry => dataEntry(systemId("rules", seq), "rules-set", null, at, { rules });

export const deliveredEntry = (commandId: string, deviceId: string, seq: number, at: number): NewEntry =>
  dataEntry(systemId("delivered", seq), "command-delivered", deviceId, at, { commandId });
