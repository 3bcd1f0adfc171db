import { describe, expect, it } from "vitest";
import { Registry } from "../../../bridge/metrics";

describe("Prometheus registry", () => {
  it("renders counters with labels, gauges and a cumulative histogram", () => {
    const r = new Registry();
    const c = r.counter("x_total", "Things.");
    c.inc();
    c.inc(2, { reason: 'a "quoted"\nvalue' });
    let level = 7;
    r.gauge("level", "Level.", () => level);
    const h = r.histogram("lat_seconds", "Latency.", [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(3);
    level = 9;
    expect(r.render()).toBe(
      [
        "# HELP x_total Things.",
        "# TYPE x_total counter",
        "x_total 1",
        'x_total{reason="a \\"quoted\\"\\nvalue"} 2',
        "# HELP level Level.",
        "# TYPE level gauge",
        "level 9",
        "# HELP lat_seconds Latency.",
        "# TYPE lat_seconds histogram",
        'lat_seconds_bucket{le="0.1"} 1',
        'lat_seconds_bucket{le="1"} 2',
        'lat_seconds_bucket{le="+Inf"} 3',
        "lat_seconds_sum 3.55",
        "lat_seconds_count 3",
        "",
      ].join("\n"),
    );
    expect(c.value()).toBe(3);
    expect(c.value({ reason: "other" })).toBe(0);
  });

  it("shows a counter that never moved as 0", () => {
    const r = new Registry();
    r.counter("never_total", "Never.");
    expect(r.render()).toContain("\nnever_total 0\n");
  });
});
