/**
 * Comparisons and signatures for tokens, session cookies and share keys. All
 * of them take the same time whatever the input, so timing tells nothing.
 */

const encoder = new TextEncoder();

const sha256 = async (text: string): Promise<ArrayBuffer> => crypto.subtle.digest("SHA-256", encoder.encode(text));

/** Secrets rarely change: their digests and HMAC keys are kept per isolate (a rotated secret gets new entries). */
const secretDigests = new Map<string, Promise<ArrayBuffer>>();
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    // A handful of secrets per deployment; the bound only matters if they rotate often in one isolate.
    if (map.size >= 16) map.clear();
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * Whether `presented` equals `secret`, compared as SHA-256 digests with
 * `crypto.subtle.timingSafeEqual`: both sides are 32 bytes whatever was sent,
 * so neither the content nor the length of the secret leaks through timing.
 */
export async function tokenMatches(presented: string, secret: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), cached(secretDigests, secret, () => sha256(secret))]);
  return crypto.subtle.timingSafeEqual(a, b);
}

const hmacKey = (secret: string): Promise<CryptoKey> =>
  cached(hmacKeys, secret, () => crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));

const toBase64Url = (bytes: ArrayBuffer): string =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

/** The HMAC-SHA-256 of `message` under `secret`, base64url. */
export async function sign(secret: string, message: string): Promise<string> {
  return toBase64Url(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message)));
}

/** Whether `signature` is `message`'s HMAC under `secret` (the runtime's verify is constant-time). */
export async function verify(secret: string, message: string, signature: string): Promise<boolean> {
  const bytes = fromBase64Url(signature);
  if (!bytes || bytes.byteLength !== 32) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret), bytes, encoder.encode(message));
}

export const encodeText = (text: string): string => toBase64Url(encoder.encode(text).buffer as ArrayBuffer);

export function decodeText(text: string): string | null {
  const bytes = fromBase64Url(text);
  if (!bytes) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

/** SHA-256 as hex (rate-limit keys derived from a token). */
export async function sha256Hex(text: string): Promise<string> {
  return [...new Uint8Array(await sha256(text))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
