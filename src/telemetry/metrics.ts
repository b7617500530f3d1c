/**
 * A small metrics registry: counters and histograms with label sets, and the Prometheus text
 * exposition (format 0.0.4) real Prometheus scrapes.
 *
 * Hot-path design: a series (one label-value combination) is created once and kept by the caller;
 * its label string is rendered at creation, so recording is one add (counter) or one bucket scan
 * plus two adds (histogram), with no allocation. Lookups by label values (`series()`) build a key
 * string and are meant for set-up time, or behind the caller's own cache.
 *
 * Telemetry never breaks the data path (DESIGN §5): each metric keeps at most `maxSeries` series;
 * past that, `series()` returns a detached series that records nothing, and the drop is counted in
 * `skiff_telemetry_series_dropped_total`.
 */

/** Istio's (Envoy's default) histogram buckets, used by istio_request_duration_milliseconds and the byte histograms. */
export const istioBuckets: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** Registry defaults, applied once in the constructor. */
export const registryDefaults = {
  /** Series kept per metric before new label combinations are dropped (and counted). */
  maxSeries: 10000,
};

export type RegistryOptions = Partial<typeof registryDefaults>;

/** Escapes a label value for the exposition format (backslash, double quote, newline). */
export function escapeLabelValue(v: string): string {
  // Fast path: almost every value (names, numbers, flags) needs no escaping.
  if (!/[\\"\n]/.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `a="x",b="y"` for names and values (no braces), escaped. */
export function renderLabels(names: readonly string[], values: readonly string[]): string {
  let s = '';
  for (let i = 0; i < names.length; i++) {
    if (i) s += ',';
    s += `${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  }
  return s;
}

/** Formats a sample value as Prometheus does (integers without a fraction, +Inf/-Inf/NaN spelled out). */
function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** One counter series. `value` is public so exporters can read it without a call. */
export class CounterSeries {
  /** The rendered label set without braces (may be empty). */
  readonly labels: string;
  value = 0;
  constructor(labels: string) {
    this.labels = labels;
  }

  /** Adds `n` (default 1); negative additions are ignored, as counters only go up. */
  inc(n = 1): void {
    if (n > 0) this.value += n;
  }
}

/** One histogram series: per-bucket counts (not cumulative; cumulated at exposition), sum and count. */
export class HistogramSeries {
  readonly labels: string;
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(labels: string, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    // One slot per bound plus the +Inf overflow slot.
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one observation. */
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    // Linear scan: 19 bounds, and most observations land in the first few.
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

interface MetricBase {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  expose(out: string[]): void;
}

/** Shared series bookkeeping: label names, the key → series map, the cap. */
abstract class Family<S> implements MetricBase {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly labelNames: readonly string[];
  protected readonly byKey = new Map<string, S>();
  #registry: Registry;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.#registry = registry;
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  protected abstract make(labels: string): S;

  /** The series for these label values (same order as labelNames), created on first use. */
  series(values: readonly string[]): S {
    const key = values.join('\u0000');
    let s = this.byKey.get(key);
    if (s) return s;
    const labels = renderLabels(this.labelNames, values);
    if (this.byKey.size >= this.#registry.maxSeries) {
      this.#registry.dropped.inc();
      // Detached: records into an object nobody exposes.
      return this.make(labels);
    }
    s = this.make(labels);
    this.byKey.set(key, s);
    return s;
  }

  /** Number of series kept. */
  get size(): number {
    return this.byKey.size;
  }

  abstract expose(out: string[]): void;
}

/** A counter metric with labels. */
export class Counter extends Family<CounterSeries> {
  readonly type = 'counter';
  protected make(labels: string): CounterSeries {
    return new CounterSeries(labels);
  }

  expose(out: string[]): void {
    for (const s of this.byKey.values()) out.push(s.labels ? `${this.name}{${s.labels}} ${formatValue(s.value)}` : `${this.name} ${formatValue(s.value)}`);
  }
}

/** A histogram metric with labels and fixed bucket bounds. */
export class Histogram extends Family<HistogramSeries> {
  readonly type = 'histogram';
  readonly bounds: readonly number[];
  readonly #le: string[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    super(registry, name, help, labelNames);
    this.bounds = bounds;
    this.#le = [...bounds.map((b) => formatValue(b)), '+Inf'];
  }

  protected make(labels: string): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  expose(out: string[]): void {
    for (const s of this.byKey.values()) {
      const sep = s.labels ? `${s.labels},` : '';
      let cum = 0;
      for (let i = 0; i < this.#le.length; i++) {
        cum += s.counts[i];
        out.push(`${this.name}_bucket{${sep}le="${this.#le[i]}"} ${formatValue(cum)}`);
      }
      const lb = s.labels ? `{${s.labels}}` : '';
      out.push(`${this.name}_sum${lb} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${lb} ${formatValue(s.count)}`);
    }
  }
}

/** Writes extra exposition lines at scrape time (gauges read from live objects). */
export type Collector = (out: string[]) => void;

/** A set of metrics exposed together. */
export class Registry {
  readonly maxSeries: number;
  #metrics: MetricBase[] = [];
  #names = new Set<string>();
  #collectors: Collector[] = [];
  /** Series not created because a metric hit maxSeries. */
  readonly dropped: CounterSeries;

  constructor(opts: RegistryOptions = {}) {
    this.maxSeries = opts.maxSeries ?? registryDefaults.maxSeries;
    const c = this.counter('skiff_telemetry_series_dropped_total', 'Label combinations not recorded because a metric reached its series limit.', []);
    this.dropped = c.series([]);
  }

  #claim(name: string): void {
    if (this.#names.has(name)) throw new Error(`metric "${name}" is already registered`);
    this.#names.add(name);
  }

  /** Registers a counter. */
  counter(name: string, help: string, labelNames: readonly string[]): Counter {
    this.#claim(name);
    const c = new Counter(this, name, help, labelNames);
    this.#metrics.push(c);
    return c;
  }

  /** Registers a histogram (default buckets: Istio's). */
  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[] = istioBuckets): Histogram {
    this.#claim(name);
    const h = new Histogram(this, name, help, labelNames, bounds);
    this.#metrics.push(h);
    return h;
  }

  /** Adds a scrape-time collector; it writes complete lines (with its own # HELP/# TYPE). */
  collect(fn: Collector): void {
    this.#collectors.push(fn);
  }

  /** The Prometheus text exposition of every metric with at least one series, then the collectors' lines. */
  expose(): string {
    const out: string[] = [];
    for (const m of this.#metrics) {
      const body: string[] = [];
      m.expose(body);
      if (body.length === 0) continue;
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${m.name} ${m.type}`);
      for (const l of body) out.push(l);
    }
    for (const fn of this.#collectors) {
      try {
        fn(out);
      } catch {
        // A broken collector must not break the scrape of everything else.
      }
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }
}

/** The content type of the text exposition. */
export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
