import { beforeAll, describe, expect, test } from 'vitest';
import { allocateInputColumns, type ModelInputColumns } from '../../src/features/model-contract.js';
import { createAdaptiveBatcher } from '../../src/model/adaptive-batcher.js';
import type { LoadedModel, ModelOutputs } from '../../src/model/onnx-model.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { fakeModel, gate, loadTestModel } from '../support/app.js';

function trips(rows: [pu: number, dist: number][]): ModelInputColumns {
  const c = allocateInputColumns(rows.length);
  rows.forEach(([pu, dist], i) => {
    c.PULocationID[i] = BigInt(pu);
    c.DOLocationID[i] = 50n;
    c.trip_distance[i] = dist;
    c.pickup_hour[i] = 8n;
    c.pickup_dow[i] = 2n;
  });
  return c;
}

const metrics = () => createMetrics(undefined, { defaultMetrics: false }).adaptiveBatch;

/** A fake whose runs stay open until the test opens them, recording each run's row count. */
function heldModel() {
  const runs: { n: number; open: () => void }[] = [];
  const model = fakeModel(async (columns, n) => {
    const g = gate();
    runs.push({ n, open: () => g.open() });
    await g.promise;
    const pu = Float32Array.from({ length: n }, (_, i) => Number(columns.PULocationID[i]));
    return { duration: pu, p10: pu.map((v) => v - 1), p90: pu.map((v) => v + 1) } satisfies ModelOutputs;
  });
  return { model, runs };
}

describe('adaptive batching', () => {
  let real: LoadedModel;
  beforeAll(async () => {
    real = await loadTestModel();
  });

  test('When the model is idle, then a request runs at once, alone', async () => {
    const { model, runs } = heldModel();
    const batcher = createAdaptiveBatcher(model, { maxRows: 64 }, metrics());

    const pending = batcher.run(trips([[7, 1]]), 1);

    expect(runs.map((r) => r.n)).toEqual([1]);
    runs[0].open();
    expect(Array.from((await pending).duration)).toEqual([7]);
  });

  test('When requests arrive while a run is in flight, then they queue and run together when it completes, each getting its own rows and interval', async () => {
    const { model, runs } = heldModel();
    const m = metrics();
    const batcher = createAdaptiveBatcher(model, { maxRows: 64 }, m);

    const first = batcher.run(trips([[1, 1]]), 1);
    const queued = [
      batcher.run(trips([[2, 1]]), 1),
      batcher.run(
        trips([
          [3, 1],
          [4, 1],
          [5, 1],
        ]),
        3,
      ),
      batcher.run(trips([[6, 1]]), 1),
    ];
    expect(runs.map((r) => r.n)).toEqual([1]);
    runs[0].open();
    await first;
    await Promise.resolve();
    expect(runs.map((r) => r.n)).toEqual([1, 5]);
    runs[1].open();

    const out = await Promise.all(queued);
    expect(out.map((o) => Array.from(o.duration))).toEqual([[2], [3, 4, 5], [6]]);
    expect(out.map((o) => Array.from(o.p90!))).toEqual([[3], [4, 5, 6], [7]]);
    const counts = (await m.requestsPerRun.get()).values.filter((v) => v.metricName === 'model_run_requests_sum');
    expect(counts[0].value).toBe(4);
  });

  test('When the queue holds more than maxRows trips, then whole requests are taken in order up to the limit', async () => {
    const { model, runs } = heldModel();
    const batcher = createAdaptiveBatcher(model, { maxRows: 4 }, metrics());

    const all = [batcher.run(trips([[1, 1]]), 1), ...Array.from({ length: 6 }, (_, i) => batcher.run(trips([[10 + i, 1]]), 1))];
    for (let i = 0; i < 3; i++) {
      await Promise.resolve();
      runs[i].open();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);

    expect(runs.map((r) => r.n)).toEqual([1, 4, 2]);
  });

  test('When a batched run fails, then every request in it gets the error and the next requests still run', async () => {
    let fail = false;
    const g = gate();
    const model = fakeModel(async (_c, n) => {
      if (n === 1 && !fail) {
        fail = true;
        await g.promise;
        return new Float32Array(1);
      }
      if (n === 2) throw new Error('boom');
      return new Float32Array(n).fill(5);
    });
    const batcher = createAdaptiveBatcher(model, { maxRows: 64 }, metrics());

    const first = batcher.run(trips([[1, 1]]), 1);
    const failing = [batcher.run(trips([[2, 1]]), 1), batcher.run(trips([[3, 1]]), 1)];
    g.open();
    await first;

    expect((await Promise.allSettled(failing)).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await batcher.run(trips([[4, 1]]), 1)).duration[0]).toBe(5);
  });

  test('When the real model answers queued requests in one run, then each gets the same duration as alone', async () => {
    const batcher = createAdaptiveBatcher(real, { maxRows: 512 }, metrics());
    const inputs = Array.from({ length: 20 }, (_, i) => trips([[1 + i * 13, i * 1.7]]));
    const alone = await Promise.all(inputs.map((t) => real.run(t, 1)));

    const together = await Promise.all(inputs.map((t) => batcher.run(t, 1)));

    expect(together.map((o) => o.duration[0])).toEqual(alone.map((o) => o.duration[0]));
  });

  test('When released with requests queued, then they are answered before the inner model is released', async () => {
    const { model, runs } = heldModel();
    const batcher = createAdaptiveBatcher(model, { maxRows: 64 }, metrics());
    const pending = [batcher.run(trips([[1, 1]]), 1), batcher.run(trips([[2, 1]]), 1)];

    const released = batcher.release();
    runs[0].open();
    await new Promise((r) => setImmediate(r));
    runs[1].open();
    await released;

    expect((await Promise.all(pending)).map((o) => o.duration[0])).toEqual([1, 2]);
    expect(model.released).toBe(true);
  });

  describe('with a model that runs synchronously (the ONNX sessions)', () => {
    /** A model with runNow, recording each run's row count; `failOn` rows make runNow throw. */
    function syncModel(failOn?: number) {
      const runs: number[] = [];
      const model = fakeModel(async () => {
        throw new Error('the turn path must not call run');
      });
      const runNow = (columns: ModelInputColumns, n: number): ModelOutputs => {
        runs.push(n);
        if (n === failOn) throw new Error('boom');
        const pu = Float32Array.from({ length: n }, (_, i) => Number(columns.PULocationID[i]));
        return { duration: pu, p10: pu.map((v) => v - 1), p90: pu.map((v) => v + 1) };
      };
      return { model: Object.assign(model, { runNow }), runs };
    }

    test('When requests arrive in one turn of the event loop, then one run in its check phase answers them all, each with its own rows', async () => {
      const { model, runs } = syncModel();
      const m = metrics();
      const batcher = createAdaptiveBatcher(model, { maxRows: 64 }, m);

      const pending = [
        batcher.run(trips([[1, 1]]), 1),
        batcher.run(
          trips([
            [2, 1],
            [3, 1],
          ]),
          2,
        ),
        batcher.run(trips([[4, 1]]), 1),
      ];
      expect(runs).toEqual([]);
      const out = await Promise.all(pending);

      expect(runs).toEqual([4]);
      expect(out.map((o) => Array.from(o.duration))).toEqual([[1], [2, 3], [4]]);
      expect(out.map((o) => Array.from(o.p10!))).toEqual([[0], [1, 2], [3]]);
      const sum = (await m.requestsPerRun.get()).values.find((v) => v.metricName === 'model_run_requests_sum');
      expect(sum?.value).toBe(3);
    });

    test('When one request arrives alone, then it runs alone in the next check phase, and later turns run their own', async () => {
      const { model, runs } = syncModel();
      const batcher = createAdaptiveBatcher(model, { maxRows: 64 }, metrics());

      expect(Array.from((await batcher.run(trips([[7, 1]]), 1)).duration)).toEqual([7]);
      expect(Array.from((await batcher.run(trips([[8, 1]]), 1)).duration)).toEqual([8]);

      expect(runs).toEqual([1, 1]);
    });

    test('When a turn holds more than maxRows trips, then it runs whole requests in order up to the limit, several runs in the same turn', async () => {
      const { model, runs } = syncModel();
      const batcher = createAdaptiveBatcher(model, { maxRows: 3 }, metrics());

      const out = await Promise.all([
        batcher.run(
          trips([
            [1, 1],
            [2, 1],
          ]),
          2,
        ),
        batcher.run(
          trips([
            [3, 1],
            [4, 1],
          ]),
          2,
        ),
        batcher.run(
          trips([
            [5, 1],
            [6, 1],
            [7, 1],
            [8, 1],
          ]),
          4,
        ),
        batcher.run(trips([[9, 1]]), 1),
      ]);

      expect(runs).toEqual([2, 2, 4, 1]);
      expect(out.map((o) => Array.from(o.duration))).toEqual([[1, 2], [3, 4], [5, 6, 7, 8], [9]]);
    });

    test('When a run throws, then every request in it is rejected, the rest of the turn still runs, and so does the next turn', async () => {
      const { model } = syncModel(2);
      const batcher = createAdaptiveBatcher(model, { maxRows: 2 }, metrics());

      const settled = await Promise.allSettled([
        batcher.run(trips([[1, 1]]), 1),
        batcher.run(trips([[2, 1]]), 1),
        batcher.run(trips([[3, 1]]), 1),
      ]);

      expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
      expect(Array.from((await batcher.run(trips([[4, 1]]), 1)).duration)).toEqual([4]);
    });

    test('When released with a turn scheduled, then its requests are answered before the inner model is released', async () => {
      const { model } = syncModel();
      const batcher = createAdaptiveBatcher(model, { maxRows: 64 }, metrics());
      const pending = [batcher.run(trips([[1, 1]]), 1), batcher.run(trips([[2, 1]]), 1)];

      await batcher.release();

      expect(model.released).toBe(true);
      expect((await Promise.all(pending)).map((o) => o.duration[0])).toEqual([1, 2]);
    });

    test('When the real ONNX model answers a turn of requests in one run, then each gets what it gets alone', async () => {
      expect(real.runNow).toBeTypeOf('function');
      const batcher = createAdaptiveBatcher(real, { maxRows: 512 }, metrics());
      const inputs = Array.from({ length: 20 }, (_, i) => trips([[1 + i * 13, i * 1.7]]));
      const alone = inputs.map((t) => real.runNow!(t, 1));

      const together = await Promise.all(inputs.map((t) => batcher.run(t, 1)));

      expect(together.map((o) => [o.duration[0], o.p10![0], o.p90![0]])).toEqual(alone.map((o) => [o.duration[0], o.p10![0], o.p90![0]]));
    });
  });
});
