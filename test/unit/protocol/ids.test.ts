import { describe, expect, it } from "vitest";
import { deviceId, eventId, locationName } from "../../../protocol/ids";

const accepts = (schema: typeof locationName, values: string[]) => {
  for (const v of values) expect(schema.safeParse(v).success, JSON.stringify(v)).toBe(true);
};
const rejects = (schema: typeof locationName, values: string[]) => {
  for (const v of values) expect(schema.safeParse(v).success, JSON.stringify(v)).toBe(false);
};

describe("locationName", () => {
  it("accepts the talk's locations and other plain names, any script", () => {
    accepts(locationName, ["MTC", "Malvern", "Paoli", "Main Hall 2", "bldg_7.floor-3", "Zürich", "東京", "9", "L".repeat(64)]);
  });

  it("rejects path separators, control characters, URL syntax, leading punctuation or space, and length > 64", () => {
    rejects(locationName, ["", "a/b", "/a", "a\\b", "a\nb", "a\u0000", "a\u007f", "a?b", "a#b", "a%2Fb", ".hidden", "..", " a", "-a", "L".repeat(65), "\u0301e"]);
  });

  it("normalizes to NFC: a decomposed name is the composed one", () => {
    expect(locationName.parse("Cafe\u0301")).toBe("Caf\u00e9");
    expect(locationName.parse("e\u0301")).toBe("\u00e9");
  });

  it("refuses letters from two scripts, except Unicode's highly restrictive sets (Latin with Japanese, Chinese or Korean)", () => {
    accepts(locationName, ["МТС", "Москва 2", "Αθήνα", "東京タワー とうきょう", "서울 本社", "القاهرة", "MTC-2.b", "Share 東京", "Seoul 서울 本社", "台北 ㄅ Office"]);
    rejects(locationName, ["MТС", "Mосква", "Αthens", "서울 とうきょう", "Москва 東京", "ㄅ かな", "Tel Aviv תל"]);
    expect(locationName.safeParse("MТС").error!.issues[0]!.message).toBe(
      "location mixes scripts (Latin and Cyrillic): a name that looks like another is refused; write it in one script",
    );
  });

  it("says why", () => {
    expect(locationName.safeParse("L".repeat(65)).error!.issues[0]!.message).toBe("location must be at most 64 characters");
    expect(locationName.safeParse("a/b").error!.issues[0]!.message).toMatch(/^location may hold only letters, digits, space/);
  });
});

describe("deviceId", () => {
  it("accepts IoT Hub's device id alphabet", () => {
    accepts(deviceId, ["arduino1010", "dev-1", "a.b", "50%", "x_y", "a*b", "q?", "wow!", "(x)", "a,b", "ns:dev", "k=v", "me@site", "$sys", "o'brien", "d".repeat(128)]);
  });

  it("rejects MQTT wildcards, separators, spaces, non-ASCII and length > 128", () => {
    rejects(deviceId, ["", "a+b", "a#b", "a/b", "a b", "dév", "a\tb", "d".repeat(129)]);
  });
});

describe("eventId", () => {
  it("accepts UUIDs, ULIDs and IoT Hub message ids", () => {
    accepts(eventId, [
      "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
      "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      "mid:42",
      "a+b#c;d",
      "x".repeat(128),
    ]);
  });

  it("rejects spaces, slashes, quotes, non-ASCII, control characters and length > 128", () => {
    rejects(eventId, ["", "a b", "a/b", 'a"b', "ü", "a\u0001", "a\n", "x".repeat(129)]);
  });
});
