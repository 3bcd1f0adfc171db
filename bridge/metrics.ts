import client from "prom-client";

/**
 * The bridge's Prometheus registry, on prom-client: counters (optionally
 * labelled), gauges read at scrape time and histograms, plus prom-client's
 * process and Node.js metrics (`process_resident_memory_bytes`,
 * `nodejs_heap_size_used_bytes`, event-loop lag, GC…). Each registry is its
 * own (never prom-client's global one), so several bridges in one process
 * (tests) do not share or clash.
 *
 * prom-client reads values asynchronously; the counters here also keep their
 * values for synchronous reads (`value()`), which /healthz and tests use.
 */

type Labels = Record<string, string>;

const labelKey = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");

export class Counter {
  private readonly values = new Map<string, number>();

  constructor(private readonly metric: client.Counter) {}

  inc(by = 1, labels: Labels = {}): void {
    this.metric.inc(labels, by);
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** The value for `labels`, or the sum over all labels when omitted. */
  value(labels?: Labels): number {
    if (labels) return this.values.get(labelKey(labels)) ?? 0;
    let sum = 0;
    for (const v of this.values.values()) sum += v;
    return sum;
  }
}

export class Histogram {
  private total = 0;

  constructor(private readonly metric: client.Histogram) {}

  observe(value: number): void {
    this.metric.observe(value);
    this.total++;
  }

  get count(): number {
    return this.total;
  }
}

export class Registry {
  private readonly registry = new client.Registry();

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** `labelNames`: the labels its `inc` may set (prom-client wants them declared). */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return new Counter(new client.Counter({ name, help, labelNames, registers: [this.registry] }));
  }

  gauge(name: string, help: string, read: () => number): void {
    new client.Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return new Histogram(new client.Histogram({ name, help, buckets: [...buckets], registers: [this.registry] }));
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  readonly contentType = client.Registry.PROMETHEUS_CONTENT_TYPE;
}
