/**
 * base64url (RFC 4648 §5, no padding) of bytes. Text goes through UTF-8
 * first: `btoa` alone throws on any character above U+00FF (`東京`).
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The bytes of a base64url string, or null unless it is exactly what `encodeBase64Url` would give for them. */
export function decodeBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Trailing bits that decode to nothing would let several strings name one cursor.
  return encodeBase64Url(bytes) === text ? bytes : null;
}
