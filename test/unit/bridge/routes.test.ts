import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findRoute, loadRoutes } from "../../../bridge/routes";

const file = (content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "routes-")), "routes.json");
  writeFileSync(path, content);
  return path;
};

describe("routes file", () => {
  it("loads routes; the first whole-id match wins", () => {
    const routes = loadRoutes(
      file(JSON.stringify({ routes: [{ pattern: "arduino1010", location: "MTC", temperatureUnit: "F" }, { pattern: "arduino.*", location: "Paoli" }] })),
    );
    expect(findRoute(routes, "arduino1010")?.location).toBe("MTC");
    expect(findRoute(routes, "arduino7")?.location).toBe("Paoli");
    expect(findRoute(routes, "my-arduino7")).toBeUndefined(); // anchored: no substring matches
  });

  it.each([
    ["not json", "is not JSON"],
    ["[]", 'routes file must be {"routes":[…]}'],
    [JSON.stringify({ routes: [{ pattern: "(", location: "MTC" }] }), "pattern is not a valid regular expression"],
    [JSON.stringify({ routes: [{ pattern: "a" }] }), "a route must set location, temperatureUnit or both"],
    [JSON.stringify({ routes: [{ pattern: "a", temperatureUnit: "K" }] }), 'temperatureUnit must be "C" or "F"'],
    [JSON.stringify({ routes: [{ pattern: "a", location: "no/slash" }] }), "location may hold only"],
    [JSON.stringify({ routes: [{ pattern: "a", location: "MTC", extra: 1 }] }), "extra"],
  ])("refuses %s", (content, message) => {
    expect(() => loadRoutes(file(content))).toThrow(message);
  });

  it("says when the file cannot be read", () => {
    expect(() => loadRoutes("/nonexistent/routes.json")).toThrow("cannot read /nonexistent/routes.json");
  });
});
