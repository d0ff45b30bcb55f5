/**
 * prom-client's Histogram, counted in typed arrays. A drop-in for the histograms the prediction path
 * observes on every request (and predicted_duration_minutes, once per trip): the same constructor, the
 * same `observe`/`labels`/`startTimer`/`reset`/`remove`/`zero`, and the same exposition and JSON, so the
 * registry, GET /metrics and the cluster aggregation read it as any other histogram
 * (tests/observability/fast-histogram.test.ts holds its output equal to prom-client's for the same
 * observations).
 *
 * why: prom-client's observe builds a label object, validates it, hashes it into a string key and
 * finds the bucket through a number-keyed object on every call: ≈ 0.5 µs, four to five times per
 * request and once per trip of a batch (docs/performance.md). Here a label child is resolved once and
 * an observation is a bucket search and three additions.
 */
import { Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';

interface Tally {
  readonly labels: LabelValues<string>;
  /** Observations per bucket, not cumulative; values above the last bound are only in `count`, as in prom-client. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  /** Exported: observed (or zeroed) since the last reset or remove, as prom-client's series are. */
  present: boolean;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: LabelValues<string>;
  value: number;
  metricName: string;
  exemplar?: null;
}

export class FastHistogram<T extends string = string> extends Histogram<T> {
  readonly #bounds: Float64Array;
  readonly #labelNames: readonly string[];
  readonly #name: string;
  readonly #help: string;
  readonly #aggregator: string;
  readonly #collect: HistogramConfiguration<T>['collect'];
  readonly #tallies = new Map<string, Tally>();
  readonly #children = new Map<string, Histogram.Internal<T>>();

  constructor(config: HistogramConfiguration<T>) {
    if (config.enableExemplars === true) throw new Error('FastHistogram does not keep exemplars');
    if (config.buckets === undefined) throw new Error(`${config.name}: FastHistogram needs explicit buckets`);
    super(config);
    this.#bounds = Float64Array.from(config.buckets);
    this.#labelNames = config.labelNames ?? [];
    this.#name = config.name;
    this.#help = config.help;
    this.#aggregator = config.aggregator ?? 'sum';
    this.#collect = config.collect;
    // prom-client exports a label-less histogram's zero series from the start (not after a reset)
    if (this.#labelNames.length === 0) this.#tally({}).present = true;
    // why: prom-client's constructor sets `observe` as an own property, which would hide a method here.
    this.observe = ((labelsOrValue: LabelValues<T> | number, value?: number) => {
      if (typeof labelsOrValue === 'number') this.#observe(this.#tally({}), labelsOrValue);
      else this.#observe(this.#tally(this.#checked(labelsOrValue)), value as number);
    }) as Histogram<T>['observe'];
  }

  override labels(...args: unknown[]): Histogram.Internal<T> {
    const labels = this.#labelsOf(args);
    const key = this.#key(labels);
    let child = this.#children.get(key);
    if (child === undefined) {
      const tally = this.#tally(labels);
      child = {
        observe: (value: number) => this.#observe(tally, value),
        startTimer: () => this.startTimer(labels as LabelValues<T>),
      } as Histogram.Internal<T>;
      this.#children.set(key, child);
    }
    return child;
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor resets before this class's fields exist
    if (!(#tallies in this)) return;
    for (const tally of this.#tallies.values()) this.#clear(tally, false);
  }

  override remove(...args: unknown[]): void {
    const labels = this.#labelsOf(args);
    const tally = this.#tallies.get(this.#key(labels));
    if (tally !== undefined) this.#clear(tally, false);
  }

  override zero(labels: LabelValues<T>): void {
    const tally = this.#tally(this.#checked(labels));
    this.#clear(tally, true);
  }

  /** What prom-client's Registry and `get()` read: the same shape and order as Histogram's. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    await this.#collect?.call(this);
    const bucket = `${this.#name}_bucket`;
    const values: ExportedValue[] = [];
    for (const t of this.#tallies.values()) {
      if (!t.present) continue;
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += t.counts[i];
        values.push({ labels: { le: this.#bounds[i] }, sharedLabels: t.labels, value: cumulative, metricName: bucket, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: t.labels, value: t.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: t.labels, value: t.sum, metricName: `${this.#name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: t.labels, value: t.count, metricName: `${this.#name}_count`, exemplar: undefined });
    }
    return { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: this.#aggregator };
  }

  #observe(tally: Tally, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        tally.counts[i] += 1;
        break;
      }
    }
    tally.sum += value;
    tally.count += 1;
    tally.present = true;
  }

  #tally(labels: LabelValues<string>): Tally {
    const key = this.#key(labels);
    let tally = this.#tallies.get(key);
    if (tally === undefined) {
      tally = { labels, counts: new Float64Array(this.#bounds.length), sum: 0, count: 0, present: false };
      this.#tallies.set(key, tally);
    }
    return tally;
  }

  #clear(tally: Tally, present: boolean): void {
    tally.counts.fill(0);
    tally.sum = 0;
    tally.count = 0;
    tally.present = present;
  }

  #key(labels: LabelValues<string>): string {
    let key = '';
    for (const name of this.#labelNames) key += `${labels[name] ?? ''}\u0000`;
    return key;
  }

  /** prom-client's checks: every label a declared one (positional values: exactly one per name). */
  #checked(labels: LabelValues<string>): LabelValues<string> {
    for (const name of Object.keys(labels)) {
      if (!this.#labelNames.includes(name)) {
        throw new Error(`Added label "${name}" is not included in initial labelset: ${JSON.stringify(this.#labelNames)}`);
      }
    }
    return labels;
  }

  /** The labels of `labels(...)` and `remove(...)`: one object, or one value per label name in order. */
  #labelsOf(args: unknown[]): LabelValues<string> {
    const one = args.length === 1 && typeof args[0] === 'object' && args[0] !== null;
    return this.#checked(one ? (args[0] as LabelValues<string>) : this.#positional(args));
  }

  #positional(values: unknown[]): LabelValues<string> {
    if (values.length !== this.#labelNames.length) throw new Error('Invalid number of arguments');
    const labels: Record<string, string | number> = {};
    for (let i = 0; i < values.length; i++) labels[this.#labelNames[i]] = values[i] as string | number;
    return labels;
  }
}
