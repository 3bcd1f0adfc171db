import { describe, expect, it } from "vitest";
import { Registry } from "../../../bridge/metrics";

describe("Prometheus registry (prom-client)", () => {
  it("renders counters with labels, gauges read at scrape time and a cumulative histogram", async () => {
    const r = new Registry();
    const c = r.counter("x_total", "Things.", ["reason"]);
    c.inc();
    c.inc(2, { reason: 'a "quoted"\nvalue' });
    let level = 7;
    r.gauge("level", "Level.", () => level);
    const h = r.histogram("lat_seconds", "Latency.", [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(3);
    level = 9;
    const text = await r.render();
    for (const line of [
      "# HELP x_total Things.",
      "# TYPE x_total counter",
      "x_total 1",
      'x_total{reason="a \\"quoted\\"\\nvalue"} 2',
      "# TYPE level gauge",
      "level 9",
      "# TYPE lat_seconds histogram",
      'lat_seconds_bucket{le="0.1"} 1',
      'lat_seconds_bucket{le="1"} 2',
      'lat_seconds_bucket{le="+Inf"} 3',
      "lat_seconds_sum 3.55",
      "lat_seconds_count 3",
    ]) {
      expect(text.split("\n")).toContain(line);
    }
    expect(c.value()).toBe(3);
    expect(c.value({ reason: 'a "quoted"\nvalue' })).toBe(2);
    expect(c.value({ reason: "other" })).toBe(0);
    expect(h.count).toBe(3);
    expect(r.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it("shows a counter that never moved as 0, and the process and heap metrics", async () => {
    const r = new Registry();
    r.counter("never_total", "Never.");
    const text = await r.render();
    expect(text).toContain("\nnever_total 0\n");
    for (const name of ["process_resident_memory_bytes", "nodejs_heap_size_total_bytes", "nodejs_heap_size_used_bytes", "nodejs_external_memory_bytes", "process_cpu_seconds_total", "nodejs_eventloop_lag_seconds"]) {
      expect(text).toMatch(new RegExp(`^${name} \\d`, "m"));
    }
  });

  it("keeps two registries apart (two bridges in one process)", async () => {
    const a = new Registry();
    const b = new Registry();
    a.counter("same_total", "Same.").inc(5);
    b.counter("same_total", "Same.");
    expect(await a.render()).toContain("\nsame_total 5\n");
    expect(await b.render()).toContain("\nsame_total 0\n");
  });
});
