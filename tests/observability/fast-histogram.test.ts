import { AggregatorRegistry, Histogram, Registry, type HistogramConfiguration } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { FastHistogram } from '../../src/observability/fast-histogram.js';

/** The same histogram twice, prom-client's and ours, each on its own registry. */
function pair<T extends string>(config: Omit<HistogramConfiguration<T>, 'registers'>) {
  const theirs = new Registry();
  const ours = new Registry();
  return {
    reference: new Histogram({ ...config, registers: [theirs] }),
    fast: new FastHistogram({ ...config, registers: [ours] }),
    theirs,
    ours,
  };
}

const BUCKETS = [0.0001, 0.00025, 0.001, 0.01, 0.1, 1, 10];
// edge values: on a bound, between, below the first, above the last, zero, negative, tiny
const VALUES = [0.0001, 0.00025, 0.0002, 5e-5, 0, -1, 10, 10.000001, 1e9, 0.5, 3e-7, 0.1 + 0.2];

async function expectSameOutput(theirs: Registry, ours: Registry) {
  expect(await ours.metrics()).toBe(await theirs.metrics());
  expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
}

describe('FastHistogram against prom-client Histogram', () => {
  test('When the same values are observed through label children, positional and object labels, then the exposition and JSON are identical', async () => {
    const { reference, fast, theirs, ours } = pair({
      name: 'h_seconds',
      help: 'with "quotes" and \\ backslash',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: BUCKETS,
    });
    for (const h of [reference, fast]) {
      const post = h.labels('POST', '/predict', '200');
      for (const v of VALUES) post.observe(v);
      h.labels({ method: 'GET', route: '/x"y\\z\n', status_code: '404' }).observe(0.003);
      h.observe({ method: 'POST', route: '/predict', status_code: '200' }, 0.02);
      h.observe({ route: 'partial' }, 0.02);
    }

    await expectSameOutput(theirs, ours);
  });

  test('When a label-less histogram has seen nothing, then it exports zeros; after observations, reset and zero, the same as prom-client', async () => {
    const { reference, fast, theirs, ours } = pair({ name: 'sizes', help: 'h', buckets: [1, 2, 5, 10] });
    await expectSameOutput(theirs, ours);

    for (const h of [reference, fast]) for (const v of [1, 1, 3, 7, 11, 10]) h.observe(v);
    await expectSameOutput(theirs, ours);

    for (const h of [reference, fast]) h.reset();
    await expectSameOutput(theirs, ours);
  });

  test('When series are reset, removed or zeroed, then they leave and come back as prom-client series do', async () => {
    const { reference, fast, theirs, ours } = pair({ name: 'm', help: 'h', labelNames: ['v'] as const, buckets: BUCKETS });
    const children = [reference.labels('a'), fast.labels('a')];
    for (const c of children) c.observe(0.5);
    for (const h of [reference, fast]) h.labels('b').observe(2);

    for (const h of [reference, fast]) h.reset();
    await expectSameOutput(theirs, ours);
    // a child resolved before the reset keeps counting into the same series
    for (const c of children) c.observe(0.05);
    await expectSameOutput(theirs, ours);

    for (const h of [reference, fast]) h.remove('a');
    for (const h of [reference, fast]) h.zero({ v: 'c' });
    await expectSameOutput(theirs, ours);
  });

  test('When two workers report, then the cluster aggregation of ours equals that of prom-client', async () => {
    const workers = [
      pair({ name: 'agg', help: 'h', labelNames: ['v'] as const, buckets: BUCKETS }),
      pair({ name: 'agg', help: 'h', labelNames: ['v'] as const, buckets: BUCKETS }),
    ];
    workers.forEach((w, i) => {
      for (const h of [w.reference, w.fast]) for (const v of VALUES) h.labels(i === 0 ? 'x' : 'y').observe(v * (i + 1));
    });

    const theirs = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.theirs.getMetricsAsJSON())));
    const ours = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.ours.getMetricsAsJSON())));

    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  test('When a timer ends, then its seconds are observed in the labels it started with', async () => {
    const fast = new FastHistogram({ name: 't', help: 'h', labelNames: ['v'] as const, buckets: [1e-9, 100], registers: [] });

    const seconds = fast.labels('a').startTimer()();
    const values = (await fast.get()).values;

    expect(values.find((v) => v.metricName === 't_count' && v.labels.v === 'a')?.value).toBe(1);
    expect(values.find((v) => v.metricName === 't_sum')?.value).toBe(seconds);
  });

  test('When a label is not declared, a positional count is wrong or a value is not finite, then it throws as prom-client does', () => {
    const { reference, fast } = pair({ name: 'e', help: 'h', labelNames: ['v'] as const, buckets: BUCKETS });
    for (const h of [reference, fast]) {
      expect(() => h.labels({ nope: 'x' } as never)).toThrow(/nope/);
      expect(() => (h.labels as (...a: string[]) => unknown)('a', 'b')).toThrow(/Invalid number of arguments/);
      expect(() => h.labels('a').observe(Number.NaN)).toThrow(TypeError);
      expect(() => h.labels('a').observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    }
  });
});
