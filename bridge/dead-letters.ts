import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { DeadLetterReason } from "./normalize";

/** How much of a poison message's body a dead letter keeps. */
export const DEAD_LETTER_PAYLOAD_BYTES = 4096;

export interface DeadLetter {
  reason: DeadLetterReason;
  errors: string[];
  /** Where it came from: topic, device id, partition… */
  source: Record<string, unknown>;
  /** The original body, when there was one (truncated, base64 if not UTF-8). */
  payload?: Uint8Array;
  /** The normalised event, when the message got that far. */
  event?: unknown;
}

/**
 * Appends dead letters to a JSONL file, one per line, each written with a
 * single `write` before the message is acknowledged (so it survives the
 * process being killed, like the outbox in its `normal` mode).
 */
export class DeadLetterFile {
  private fd: number;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, "a");
  }

  write(letter: DeadLetter): void {
    const { payload, ...rest } = letter;
    const line = JSON.stringify({ at: new Date().toISOString(), ...rest, ...(payload ? describePayload(payload) : {}) });
    writeSync(this.fd, line + "\n");
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function describePayload(bytes: Uint8Array): Record<string, unknown> {
  const kept = bytes.subarray(0, DEAD_LETTER_PAYLOAD_BYTES);
  const truncated = kept.byteLength < bytes.byteLength;
  try {
    return { payload: utf8.decode(kept), payloadBytes: bytes.byteLength, truncated };
  } catch {
    // Cut in the middle of a character, or not text at all: keep it exactly.
    return { payloadBase64: Buffer.from(kept).toString("base64"), payloadBytes: bytes.byteLength, truncated };
  }
}
