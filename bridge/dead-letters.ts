import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
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

export interface DeadLetterRotation {
  /** A file that would grow past this many bytes is rotated first (DEAD_LETTER_MAX_BYTES). */
  maxBytes: number;
  /** Rotated files kept: `{path}.1` (newest) … `{path}.{keep}`; older ones are deleted (DEAD_LETTER_FILES). */
  keep: number;
}

/**
 * Appends dead letters to a JSONL file, one per line, each written with a
 * single `write` before the message is acknowledged (so it survives the
 * process being killed, like the outbox in its `normal` mode). The file is
 * rotated by size, so a stream of poison messages cannot fill the disk: at
 * most (keep + 1) × maxBytes bytes.
 */
export class DeadLetterFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly rotation: DeadLetterRotation = { maxBytes: Number.POSITIVE_INFINITY, keep: 0 },
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, "a");
    this.size = fstatSync(this.fd).size;
  }

  write(letter: DeadLetter): void {
    const { payload, ...rest } = letter;
    const line = JSON.stringify({ at: new Date().toISOString(), ...rest, ...(payload ? describePayload(payload) : {}) }) + "\n";
    const bytes = Buffer.byteLength(line);
    // A letter never spans two files; one larger than the limit still gets a file of its own.
    if (this.size > 0 && this.size + bytes > this.rotation.maxBytes) this.rotate();
    writeSync(this.fd, line);
    this.size += bytes;
  }

  /** `{path}` → `{path}.1` → … → `{path}.{keep}` (the oldest deleted), then a fresh `{path}`. */
  private rotate(): void {
    closeSync(this.fd);
    rmSync(`${this.path}.${this.rotation.keep}`, { force: true });
    for (let i = this.rotation.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
    }
    if (this.rotation.keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.fd = openSync(this.path, "a");
    this.size = 0;
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
