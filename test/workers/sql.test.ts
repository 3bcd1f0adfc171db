import { describe, expect, it } from "vitest";
import { MAX_JSON_PARAMETER, jsonChunks } from "../../durable-objects/sql";
import { ingestOk, storedReadings } from "./support/api";
import { reading } from "./support/events";

describe("jsonChunks", () => {
  it("keeps every row, in order, in chunks under the limit", () => {
    const rows = Array.from({ length: 100 }, (_, i) => [i, "x".repeat(i)]);
    const chunks = jsonChunks(rows, 500);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(500);
    expect(chunks.flatMap((c) => JSON.parse(c) as unknown[])).toEqual(rows);
  });

  it("gives one chunk for a small list and none for an empty one", () => {
    expect(jsonChunks([[1], [2]])).toEqual(["[[1],[2]]"]);
    expect(jsonChunks([])).toEqual([]);
  });
});

describe("large batches", () => {
  it("stores a batch whose rows serialise past one JSON parameter (several statements)", async () => {
    // Quotes double in size when the row list is serialised again: ~1 MiB of body becomes > 2 MB of JSON.
    const quoted = '"'.repeat(250);
    const events = Array.from({ length: 120 }, (_, i) =>
      reading("sql-large", { properties: Object.fromEntries(Array.from({ length: 16 }, (_, k) => [`p${k}`, quoted])), id: `big-${i}` }),
    );
    expect(JSON.stringify(events.map((e) => JSON.stringify(e))).length).toBeGreaterThan(MAX_JSON_PARAMETER);
    const result = await ingestOk(events);
    expect(result).toEqual({ accepted: 120, duplicates: 0, rejected: [], conflicts: [] });
    const stored = await storedReadings("sql-large");
    expect(stored.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(stored[119]!.properties?.p15).toBe(quoted);
  });
});
