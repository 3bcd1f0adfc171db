import { describe, expect, it } from "vitest";
import { createUuidV7 } from "../../../bridge/uuidv7";
import { eventId } from "../../../protocol";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("UUIDv7", () => {
  it("has the version and variant bits, the time in front, and fits the event id alphabet", () => {
    const ms = Date.UTC(2025, 0, 15, 12);
    const id = createUuidV7(() => ms)();
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
    expect(eventId.safeParse(id).success).toBe(true);
  });

  it("strictly increases within one millisecond, past the 12-bit counter", () => {
    const next = createUuidV7(() => 1_700_000_000_000);
    const ids = Array.from({ length: 10_000 }, next);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    ids.forEach((id) => expect(id).toMatch(UUID_V7));
  });

  it("never goes back when the clock does", () => {
    let now = 2_000_000_000_000;
    const next = createUuidV7(() => now);
    const a = next();
    now -= 5_000;
    const b = next();
    expect(b > a).toBe(true);
  });
});
