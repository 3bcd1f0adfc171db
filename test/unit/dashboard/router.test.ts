import { describe, expect, it } from "vitest";
import { locationHref, routeFor } from "../../../dashboard/src/lib/router";

describe("routes", () => {
  it("has an overview and a page per location", () => {
    expect(routeFor("/")).toEqual({ view: "overview" });
    expect(routeFor("/locations/MTC")).toEqual({ view: "location", location: "MTC" });
    expect(routeFor("/locations/MTC/")).toEqual({ view: "location", location: "MTC" });
  });

  it("round-trips names that need encoding", () => {
    for (const name of ["Main Hall", "Zürich", "a.b_c-d", "東京"]) {
      const href = locationHref(name);
      expect(href.startsWith("/locations/")).toBe(true);
      expect(routeFor(new URL(href, "http://x").pathname)).toEqual({ view: "location", location: name });
    }
  });

  it("calls anything else missing, including names the API would refuse", () => {
    for (const path of ["/nope", "/locations", "/locations/", "/locations/a/b", "/locations/%E0%A4%A", "/locations/%2Fetc", "/locations/-x"]) {
      expect(routeFor(path), path).toEqual({ view: "missing", path });
    }
  });
});
