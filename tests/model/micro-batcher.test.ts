import { beforeAll, describe, expect, test } from 'vitest';
import { allocateInputColumns, type ModelInputColumns } from '../../src/features/model-contract.js';
import { createMicroBatcher } from '../../src/model/micro-batcher.js';
import { createMetrics, type MicroBatchMetrics } from '../../src/observability/metrics.js';
import type { LoadedModel } from '../../src/model/onnx-model.js';
import { fakeModel, loadTestModel } from '../support/app.js';

function oneTrip(pu: number, dist: number): ModelInputColumns {
  const c = allocateInputColumns(1);
  c.PULocationID[0] = BigInt(pu);
  c.DOLocationID[0] = 50n;
  c.trip_distance[0] = dist;
  c.pickup_hour[0] = 8n;
  c.pickup_dow[0] = 2n;
  return c;
}

async function histogram(metrics: MicroBatchMetrics['size']) {
  const values = (await metrics.get()).values as { metricName?: string; value: number }[];
  const count = values.find((v) => v.metricName === 'microbatch_size_count')?.value;
  const sum = values.find((v) => v.metricName === 'microbatch_size_sum')?.value;
  return { count, sum };
}

describe('micro-batching', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadTestModel();
  });

  test('When single trips run concurrently, then they share one ONNX run and get the same durations as alone', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false }).microBatch;
    const batcher = createMicroBatcher(model, { maxBatchSize: 64, maxDelayUs: 0 }, metrics);
    const trips = Array.from({ length: 10 }, (_, i) => oneTrip(1 + i * 20, i * 2.5));
    const alone = await Promise.all(trips.map((t) => model.run(t, 1)));

    const together = await Promise.all(trips.map((t) => batcher.run(t, 1)));

    expect(together.map((d) => d.duration[0])).toEqual(alone.map((d) => d.duration[0]));
    expect(await histogram(metrics.size)).toEqual({ count: 1, sum: 10 });
  });

  test('When the queue reaches MICROBATCH_MAX_SIZE, then it runs at once and the rest form the next batch', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false }).microBatch;
    const sizes: number[] = [];
    const inner = fakeModel(async (_columns, n) => (sizes.push(n), new Float32Array(n).fill(7)));
    const batcher = createMicroBatcher(inner, { maxBatchSize: 4, maxDelayUs: 0 }, metrics);

    const out = await Promise.all(Array.from({ length: 6 }, (_, i) => batcher.run(oneTrip(i + 1, 1), 1)));

    expect(sizes).toEqual([4, 2]);
    expect(out.every((d) => d.duration.length === 1 && d.duration[0] === 7)).toBe(true);
  });

  test('When the run fails, then every request of the batch gets the error; batch requests bypass the queue', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false }).microBatch;
    const inner = fakeModel(async (_columns, n) => {
      if (n === 2) throw new Error('boom');
      return new Float32Array(n);
    });
    const batcher = createMicroBatcher(inner, { maxBatchSize: 8, maxDelayUs: 0 }, metrics);

    const results = await Promise.allSettled([batcher.run(oneTrip(1, 1), 1), batcher.run(oneTrip(2, 1), 1)]);
    const direct = await batcher.run(allocateInputColumns(3), 3);

    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(direct.duration.length).toBe(3);
    await batcher.release();
    expect(inner.released).toBe(true);
  });
});
