import type { ReadingEvent } from "../../../protocol";

export type Vote = NonNullable<ReadingEvent["vote"]>;
import type { TemperatureUnit } from "../../../protocol/csv";

export { fromCelsius, type TemperatureUnit } from "../../../protocol/csv";

export const UNIT_STORAGE_KEY = "happy-hub:temperature-unit";

/** The remembered unit; °C when nothing (or something unreadable) is stored or storage is blocked. */
export function loadUnit(storage: Pick<Storage, "getItem"> | undefined): TemperatureUnit {
  try {
    return storage?.getItem(UNIT_STORAGE_KEY) === "F" ? "F" : "C";
  } catch {
    return "C"; // storage disabled (privacy mode): the default is fine
  }
}

export function saveUnit(storage: Pick<Storage, "setItem"> | undefined, unit: TemperatureUnit): void {
  try {
    storage?.setItem(UNIT_STORAGE_KEY, unit);
  } catch {
    // Not remembered when storage is blocked; the switch still works for this visit.
  }
}
