import { z } from "zod";

/**
 * Identifiers that travel in URLs, MQTT topics and SQL. Each is a closed
 * character set so that no id can smuggle a path separator, a control character
 * or an MQTT wildcard into the places it is echoed.
 */

/**
 * False for text with a lone UTF-16 surrogate (`"\uD800"` is valid JSON
 * text): no Unicode character, so the worker would echo text that strict JSON
 * and UTF-8 consumers refuse or mangle. Free-text fields (properties, command
 * payloads) must pass it; MQTT topics are UTF-8 and never carry one.
 * (In a `u` regex a class of surrogates matches only unpaired ones.)
 */
export const wellFormed = (s: string): boolean => !/[\uD800-\uDFFF]/u.test(s);

/** `s` with each lone surrogate replaced by U+FFFD, for text that echoes client input (error messages). */
export const wellFormedText = (s: string): string => s.replace(/[\uD800-\uDFFF]/gu, "\uFFFD");

/** A string field with "is required" / "must be a string" errors instead of zod's generic one. */
const requiredString = (name: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be a string`) });

/**
 * Scripts a letter can belong to. A name whose letters come from two of them
 * (Cyrillic `МТС` beside Latin letters) can look like another name and is
 * refused. The combinations allowed are Unicode's "highly restrictive" level
 * (UTS #39, 5.2): one script, or Latin with the scripts East Asian languages
 * write together: Japanese (Han, Hiragana, Katakana), Chinese (Han,
 * Bopomofo), Korean (Hangul, Han). So `Share 東京` is one name, `MТС` is not.
 */
const SCRIPTS = [
  "Latin", "Cyrillic", "Greek", "Armenian", "Georgian", "Hebrew", "Arabic", "Syriac", "Thaana", "Devanagari",
  "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam", "Sinhala", "Thai", "Lao",
  "Tibetan", "Myanmar", "Khmer", "Mongolian", "Ethiopic", "Cherokee", "Han", "Hiragana", "Katakana", "Hangul", "Bopomofo",
] as const;
const SCRIPT_PATTERNS = SCRIPTS.map((name) => [name, new RegExp(`\\p{Script=${name}}`, "u")] as const);
const ONE_WRITING_SYSTEM: readonly (readonly string[])[] = [
  ["Latin", "Han", "Hiragana", "Katakana"],
  ["Latin", "Han", "Bopomofo"],
  ["Latin", "Han", "Hangul"],
];

/** The scripts of the letters in `text` (digits, spaces and punctuation belong to none). */
export function scriptsOf(text: string): string[] {
  const found = new Set<string>();
  for (const ch of text) {
    // Letters shared by scripts (the Japanese long-vowel mark ー is Common) say nothing about which one is meant.
    if (!/\p{L}/u.test(ch) || /[\p{Script=Common}\p{Script=Inherited}]/u.test(ch)) continue;
    found.add(SCRIPT_PATTERNS.find(([, re]) => re.test(ch))?.[0] ?? "other");
  }
  return [...found];
}

const mixesScripts = (text: string): boolean => {
  // Most names are ASCII: one script at most, and ingest checks one name per event.
  if (/^[\x20-\x7e]*$/.test(text)) return false;
  const scripts = scriptsOf(text);
  return scripts.length > 1 && !ONE_WRITING_SYSTEM.some((system) => scripts.every((s) => system.includes(s)));
};

/**
 * A location name: letters, digits, space, `_ . -`; it appears in URL paths.
 * Normalized to Unicode NFC first, so the same name typed as composed or
 * decomposed characters is one location, and letters from one writing system.
 */
export const locationName = requiredString("location")
  .normalize("NFC")
  .min(1, "location must not be empty")
  .max(64, "location must be at most 64 characters")
  .regex(
    /^[\p{L}\p{N}](?:[\p{L}\p{N} _.-]*[\p{L}\p{N}_.-])?$/u,
    "location may hold only letters, digits, space, '_', '.', '-', must start with a letter or digit and must not end with a space",
  )
  .refine((name) => !mixesScripts(name), {
    error: (issue) =>
      `location mixes scripts (${scriptsOf(String(issue.input)).join(" and ")}): a name that looks like another is refused; write it in one script`,
  });

/**
 * A device id, as Azure IoT Hub allows them (ASCII alphanumerics and
 * `- . % _ * ? ! ( ) , : = @ $ '`), minus MQTT's `+` and `#` wildcards.
 */
export const deviceId = requiredString("deviceId")
  .min(1, "deviceId must not be empty")
  .max(128, "deviceId must be at most 128 characters")
  .regex(/^[A-Za-z0-9\-.%_*?!(),:=@$']+$/, "deviceId has a character outside [A-Za-z0-9-.%_*?!(),:=@$']");

/** An event id: IoT Hub's message-id alphabet (also fits UUIDs and ULIDs). */
export const eventId = requiredString("id")
  .min(1, "id must not be empty")
  .max(128, "id must be at most 128 characters")
  .regex(/^[A-Za-z0-9\-:.+%_#*?!(),=@;$']+$/, "id has a character outside IoT Hub's message-id alphabet");

export type LocationName = z.infer<typeof locationName>;
export type DeviceId = z.infer<typeof deviceId>;
export type EventId = z.infer<typeof eventId>;

/**
 * Ids of entries the location writes itself (rules, alerts, commands):
 * `~kind-seq`. `~` is outside the device alphabet above, so they can never
 * collide with a device's message id.
 */
export const systemEventId = z
  .string()
  .regex(/^~[a-z]+(-[a-z]+)*-[1-9][0-9]*$/, "system entry ids look like ~kind-seq");
export const systemId = (kind: string, seq: number): string => `~${kind}-${seq}`;

/** Any id in a location's log. */
export const logEventId = z.union([eventId, systemEventId], { error: "not a device message id nor a system entry id" });
