import { describe, expect, it } from "vitest";
import { readHeaders, withKey } from "../../../dashboard/src/lib/share-key";

describe("share key on the dashboard's requests", () => {
  it("fetches carry it as a bearer token; without one, nothing (the cookie goes by itself)", () => {
    expect(readHeaders("share.abc.1.sig")).toEqual({ authorization: "Bearer share.abc.1.sig" });
    expect(readHeaders(null)).toEqual({});
  });

  it("live socket URLs carry it as ?key=, after any other parameter", () => {
    expect(withKey("ws://h/api/v1/locations/MTC/live", "share.a_b-c.1.s")).toBe("ws://h/api/v1/locations/MTC/live?key=share.a_b-c.1.s");
    expect(withKey("ws://h/api/v1/locations/MTC/live?since=4", "k+/=")).toBe("ws://h/api/v1/locations/MTC/live?since=4&key=k%2B%2F%3D");
    expect(withKey("ws://h/x", null)).toBe("ws://h/x");
  });
});
