import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEAD_LETTER_PAYLOAD_BYTES, DeadLetterFile } from "../../../bridge/dead-letters";

describe("dead-letter file", () => {
  it("appends one JSON line per letter: reason, errors, source, payload (text, truncated, or base64)", () => {
    const path = join(mkdtempSync(join(tmpdir(), "dl-")), "sub", "dead-letters.jsonl");
    const file = new DeadLetterFile(path);
    file.write({ reason: "json", errors: ["body is not JSON"], source: { topic: "devices/d/messages/events/" }, payload: Buffer.from("nope") });
    file.write({ reason: "too-large", errors: ["big"], source: {}, payload: new Uint8Array(DEAD_LETTER_PAYLOAD_BYTES * 3).fill(65) });
    file.write({ reason: "encoding", errors: ["bad"], source: {}, payload: new Uint8Array([0xff, 0x00]) });
    file.write({ reason: "rejected", errors: ["vote"], source: { outboxSeq: 4 }, event: { id: "x" } });
    file.close();
    const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ reason: "json", errors: ["body is not JSON"], source: { topic: "devices/d/messages/events/" }, payload: "nope", payloadBytes: 4, truncated: false });
    expect(Date.parse(lines[0].at)).not.toBeNaN();
    expect(lines[1]).toMatchObject({ payloadBytes: DEAD_LETTER_PAYLOAD_BYTES * 3, truncated: true });
    expect(lines[1].payload).toHaveLength(DEAD_LETTER_PAYLOAD_BYTES);
    expect(lines[2]).toMatchObject({ payloadBase64: "/wA=", payloadBytes: 2 });
    expect(lines[3]).toMatchObject({ reason: "rejected", event: { id: "x" }, source: { outboxSeq: 4 } });
  });

  it("rotates by size, keeping the newest files: the disk holds at most (keep + 1) × maxBytes", () => {
    const dir = mkdtempSync(join(tmpdir(), "dl-rot-"));
    const path = join(dir, "dead-letters.jsonl");
    const maxBytes = 2_000;
    let file = new DeadLetterFile(path, { maxBytes, keep: 2 });
    const letter = (n: number) => ({ reason: "json" as const, errors: [`#${n}`], source: {}, payload: new Uint8Array(300).fill(65) });
    for (let n = 0; n < 40; n++) file.write(letter(n));
    file.close();
    expect(readdirSync(dir).sort()).toEqual(["dead-letters.jsonl", "dead-letters.jsonl.1", "dead-letters.jsonl.2"]);
    const read = (p: string) => readFileSync(p, "utf8").trim().split("\n").map((l) => JSON.parse(l).errors[0] as string);
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(maxBytes);
    // Newest last, none split across files, the oldest gone.
    const kept = [...read(`${path}.2`), ...read(`${path}.1`), ...read(path)];
    expect(kept.at(-1)).toBe("#39");
    expect(kept).toEqual(kept.map((_, i) => `#${40 - kept.length + i}`));
    expect(kept.length).toBeLessThan(40);

    // Reopened (a restart), it goes on from the current file's size.
    const before = statSync(path).size;
    file = new DeadLetterFile(path, { maxBytes, keep: 2 });
    file.write(letter(40));
    file.close();
    const after = read(path);
    expect(after.at(-1)).toBe("#40");
    expect(statSync(path).size > before || after.length === 1).toBe(true);
    expect(statSync(path).size).toBeLessThanOrEqual(maxBytes);

    // keep 0: the full file is simply started afresh.
    const lone = join(mkdtempSync(join(tmpdir(), "dl-rot0-")), "d.jsonl");
    const zero = new DeadLetterFile(lone, { maxBytes, keep: 0 });
    for (let n = 0; n < 20; n++) zero.write(letter(n));
    zero.close();
    expect(readdirSync(join(lone, ".."))).toEqual(["d.jsonl"]);
    expect(read(lone).at(-1)).toBe("#19");
  });
});
