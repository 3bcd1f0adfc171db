import { ApiError } from "./errors";

/**
 * Reads a JSON body of at most `maxBytes`. A declared or actual size over the
 * limit is 413 before anything is parsed; a body that is not JSON is 400.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new ApiError(413, `body is larger than ${maxBytes} bytes`, [`split the batch; the limit is ${maxBytes} bytes`]);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (!request.body) throw new ApiError(400, "body is empty", ["send a JSON object with an `events` array"]);
  // A declared length within the limit is read in one call (the runtime enforces the declared length);
  // only a body of unknown length is streamed and counted.
  const bytes = Number.isFinite(declared) ? new Uint8Array(await request.arrayBuffer()) : await readCapped(request.body, maxBytes, tooLarge);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, "body is not valid UTF-8", []);
  }
  if (text.trim() === "") throw new ApiError(400, "body is empty", ["send a JSON object with an `events` array"]);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, "body is not valid JSON", [e instanceof Error ? e.message : String(e)]);
  }
}

/** Reads a stream of unknown length, failing with `tooLarge()` as soon as it passes `maxBytes`. */
async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number, tooLarge: () => ApiError): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}
