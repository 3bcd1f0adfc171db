import fc from "fast-check";
import { locationName } from "../../../protocol";

/**
 * Hostile inputs for the worker fuzzers (test/workers/fuzz.test.ts): strings
 * and JSON values a careless or malicious client sends — unicode of every
 * plane, lone surrogates, control characters, NaN-ish and number-ish text,
 * very long strings, deep nesting — beside valid-ish values, so a case
 * reaches past the first check as often as it trips over it.
 */

/** Text that looks like a number, a date or a keyword, and text that breaks parsers. */
const trickyText = fc.constantFrom(
  "",
  " ",
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "1e309",
  "-0",
  "0x10",
  "1_000",
  "１２３",
  "null",
  "undefined",
  "true",
  "[]",
  "{}",
  "\u0000",
  "\uFEFF",
  "\uD800",
  "\uDFFF",
  "e\u0301",
  "🙂",
  "Ａ",
  "%",
  "%ZZ",
  "%00",
  "%2F",
  "../",
  "a/b",
  "<script>",
  "'; DROP TABLE events; --",
  "2026-02-30T00:00:00Z",
  "2026-13-01T00:00:00Z",
  "9999-12-31T23:59:59Z",
  "0000-01-01T00:00:00Z",
  "-271821-04-20T00:00:00Z",
  "2026-12-03T22:00:00",
  "2026-12-03",
  "yesterday",
  "8640000000000001",
  "99999999999999999999",
  "-1",
  "1.5",
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: trickyText, weight: 4 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary-ascii", maxLength: 20 }), weight: 1 },
  { arbitrary: fc.integer({ min: 100, max: 5000 }).map((n) => "x".repeat(n)), weight: 1 },
);

const oddNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 0.5, 1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, 8.64e15 + 1, 1e21),
);

/** Any JSON value (NaN and ±Infinity become null when serialised, as JSON has them not). */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString,
    oddNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(hostileString, tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** A string the contract refuses as a location name. */
export const badLocation = hostileString.filter((s) => !locationName.safeParse(s).success);

/** JSON text nested `depth` deep: `[[[…]]]` or `{"a":{"a":…}}`, closed or not. */
export const deepJson = fc
  .record({ depth: fc.integer({ min: 100, max: 200_000 }), object: fc.boolean(), closed: fc.boolean() })
  .map(({ depth, object, closed }) => (object ? '{"a":'.repeat(depth) + "1" + (closed ? "}".repeat(depth) : "") : "[".repeat(depth) + (closed ? "]".repeat(depth) : "")));

/** A request body: JSON text, deep nesting, bytes that are not UTF-8, or nothing. */
export function bodyOf(json: fc.Arbitrary<unknown>): fc.Arbitrary<string | Uint8Array | undefined> {
  return fc.oneof(
    { arbitrary: json.map((v) => JSON.stringify(v) ?? "null"), weight: 12 },
    { arbitrary: hostileJson.map((v) => JSON.stringify(v) ?? "null"), weight: 2 },
    { arbitrary: deepJson, weight: 1 },
    { arbitrary: hostileString, weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

/** An Authorization header: usually the right one, sometimes none or a wrong one. */
export function authorization(token: string): fc.Arbitrary<string | null> {
  return fc.oneof(
    { arbitrary: fc.constant(`Bearer ${token}`), weight: 12 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.constantFrom(`Bearer ${token}x`, `bearer ${token}`, token, `Bearer  ${token}`, "Bearer ", `Basic ${token}`), weight: 1 },
    { arbitrary: hostileString.map((s) => `Bearer ${headerText(s)}`), weight: 1 },
  );
}

/** `s` as a header value a client can send (printable ASCII: `Headers` refuses the rest before any request leaves). */
export const headerText = (s: string): string => s.replace(/[^\x20-\x7e]/g, "?");

/** `s` percent-encoded for a URL: `encodeURIComponent`, or its UTF-8 bytes when it holds a lone surrogate (which that refuses). */
export function percentEncoded(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return Array.from(new TextEncoder().encode(s), (b) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`).join("");
  }
}
