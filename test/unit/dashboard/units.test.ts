import { describe, expect, it } from "vitest";
import { UNIT_STORAGE_KEY, fromCelsius, loadUnit, saveUnit } from "../../../dashboard/src/lib/units";

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
}

const blocked = {
  getItem: (): string | null => {
    throw new Error("SecurityError");
  },
  setItem: (): void => {
    throw new Error("QuotaExceededError");
  },
};

describe("temperature unit", () => {
  it("converts °C to °F", () => {
    expect(fromCelsius(0, "F")).toBe(32);
    expect(fromCelsius(100, "F")).toBe(212);
    expect(fromCelsius(-40, "F")).toBe(-40);
    expect(fromCelsius(21.5, "C")).toBe(21.5);
  });

  it("remembers the choice across visits", () => {
    const storage = new MemoryStorage();
    expect(loadUnit(storage)).toBe("C");
    saveUnit(storage, "F");
    expect(storage.items.get(UNIT_STORAGE_KEY)).toBe("F");
    expect(loadUnit(storage)).toBe("F");
    saveUnit(storage, "C");
    expect(loadUnit(storage)).toBe("C");
  });

  it("falls back to °C on anything unreadable, without storage, or when storage is blocked", () => {
    const storage = new MemoryStorage();
    storage.setItem(UNIT_STORAGE_KEY, "kelvin");
    expect(loadUnit(storage)).toBe("C");
    expect(loadUnit(undefined)).toBe("C");
    expect(loadUnit(blocked)).toBe("C");
    expect(() => saveUnit(blocked, "F")).not.toThrow();
  });
});
