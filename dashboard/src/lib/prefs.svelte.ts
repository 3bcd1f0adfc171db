import { loadUnit, saveUnit, type TemperatureUnit } from "./units";

const storage = typeof localStorage === "undefined" ? undefined : localStorage;

/** Viewer preferences shared by every view, remembered across visits. */
class Preferences {
  #unit = $state<TemperatureUnit>(loadUnit(storage));

  get unit(): TemperatureUnit {
    return this.#unit;
  }

  set unit(unit: TemperatureUnit) {
    this.#unit = unit;
    saveUnit(storage, unit);
  }
}

export const prefs = new Preferences();
