import { describe, expect, it } from "vitest";
import type { HourSummary } from "../../../protocol";
import { csvFileName, hourlyCsv } from "../../../dashboard/src/lib/csv";

const hours: HourSummary[] = [
  { hour: "2026-03-02T10:00:00.000Z", votes: 3, score: 2 / 3, devices: 2, temperature: 21.4, humidity: 34.1 },
  { hour: "2026-03-02T11:00:00.000Z", votes: 0, score: null, devices: 0, temperature: null, humidity: null },
];

describe("hourly CSV", () => {
  it("has a header naming the temperature unit, one row per hour and empty cells for no data", () => {
    expect(hourlyCsv(hours, "C")).toBe(
      "hour_utc,votes,score,devices,temperature_c,humidity_pct\r\n" +
        "2026-03-02T10:00:00.000Z,3,0.666666666667,2,21.4,34.1\r\n" +
        "2026-03-02T11:00:00.000Z,0,,0,,\r\n",
    );
  });

  it("converts to °F without float noise", () => {
    const [header, row] = hourlyCsv(hours, "F").split("\r\n");
    expect(header).toContain("temperature_f");
    expect(row!.split(",")[4]).toBe("70.52"); // 21.4 × 1.8 + 32 is 70.52000000000001 in binary
  });

  it("is only a header when there is no history", () => {
    expect(hourlyCsv([], "C")).toBe("hour_utc,votes,score,devices,temperature_c,humidity_pct\r\n");
  });

  it("names the file after the location and the first hour, safe for any file system", () => {
    expect(csvFileName("MTC", "2026-03-02T10:00:00.000Z")).toBe("happy-hub-MTC-hourly-2026-03-02T10h.csv");
    expect(csvFileName("Main Hall 2.0", "2026-03-02T10:00:00.000Z")).toBe("happy-hub-Main_Hall_2.0-hourly-2026-03-02T10h.csv");
    expect(csvFileName("Zürich", "2026-03-02T10:00:00.000Z")).toBe("happy-hub-Zürich-hourly-2026-03-02T10h.csv");
  });
});
