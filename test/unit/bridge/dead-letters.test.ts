import { mkdtempSync, readFileSync } from "node:fs";
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
});
