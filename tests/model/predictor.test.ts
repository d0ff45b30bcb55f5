import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { ModelSlot } from '../../src/model/model-slot.js';
import { createPredictor, rideIdSequence, type PredictionEvent } from '../../src/model/predictor.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { aValidTrip, aTrip, buildApp, fakeModel } from '../support/app.js';

const trip = aValidTrip;

async function predictorWith(run: Parameters<typeof fakeModel>[0], info: Parameters<typeof fakeModel>[1] = {}) {
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  const slot = new ModelSlot();
  await slot.swap(fakeModel(run, info));
  return { predictor: createPredictor({ slot, metrics, newRideId: rideIdSequence('p') }), metrics, slot };
}

describe('predictor', () => {
  test('When trips are predicted, then durations, intervals, ride ids and the version come back in order, and listeners see them', async () => {
    const { predictor } = await predictorWith(
      async (columns, n) => ({
        duration: Float32Array.from({ length: n }, (_, i) => Number(columns.PULocationID[i])),
        p10: Float32Array.from({ length: n }, (_, i) => Number(columns.PULocationID[i]) - 1),
        p90: Float32Array.from({ length: n }, (_, i) => Number(columns.PULocationID[i]) + 1),
      }),
      { modelVersion: 'm/7', intervals: true },
    );
    const seen: PredictionEvent[] = [];
    predictor.onPredictions((e) => seen.push(e));

    const p = await predictor.predict([trip({ PULocationID: 5, ride_id: 42 }), trip({ PULocationID: 9 })], 0);

    expect(Array.from(p.duration)).toEqual([5, 9]);
    expect(Array.from(p.p10!)).toEqual([4, 8]);
    expect(Array.from(p.p90!)).toEqual([6, 10]);
    expect(p.rideIds).toEqual([42, 'p-0']);
    expect(p.modelVersion).toBe('m/7');
    expect(seen).toHaveLength(1);
    expect(seen[0].predictions).toBe(p);
  });

  test('When a listener throws, then the prediction is still answered and the error is reported', async () => {
    const errors: unknown[] = [];
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const slot = new ModelSlot();
    await slot.swap(fakeModel(async (_c, n) => new Float32Array(n).fill(3)));
    const predictor = createPredictor({ slot, metrics, onListenerError: (err) => errors.push(err) });
    predictor.onPredictions(() => {
      throw new Error('listener bug');
    });

    const p = await predictor.predict([trip()], 0);

    expect(p.duration[0]).toBe(3);
    expect(errors).toHaveLength(1);
  });

  test.each([
    ['a NaN duration', { duration: new Float32Array([Number.NaN]) }],
    ['an infinite interval bound', { duration: new Float32Array([1]), p10: new Float32Array([0]), p90: new Float32Array([Infinity]) }],
  ])('When the model returns %s, then it is an inference failure counted under the version', async (_name, out) => {
    const { predictor, metrics } = await predictorWith(async () => out, { modelVersion: 'm/1' });

    await expect(predictor.predict([trip()], 0)).rejects.toMatchObject({ code: 'inference_failed' });
    expect(await metrics.registry.metrics()).toContain('predictions_total{model_version="m/1",outcome="error"} 1');
  });

  test('When ride ids are made, then they are the prefix and the base-36 counter, across the table blocks, and distinct', () => {
    const next = rideIdSequence('ab12cd34');
    const seen = new Set<string>();
    for (let i = 0; i < 1_700_000; i++) {
      const id = next();
      // why: 1,296 = 36² (the table block) and 1,679,616 = 36⁴ (one more high digit) are both crossed.
      if (id !== `ab12cd34-${i.toString(36)}`) expect(id, `id number ${i}`).toBe(`ab12cd34-${i.toString(36)}`);
      if (i < 50_000) seen.add(id);
    }
    expect(seen.size).toBe(50_000);
  });

  test('When no model is loaded, then predict is model_not_ready and nothing is leased', async () => {
    const predictor = createPredictor({ slot: new ModelSlot(), metrics: createMetrics(undefined, { defaultMetrics: false }) });

    await expect(predictor.predict([trip()], 0)).rejects.toMatchObject({ code: 'model_not_ready' });
    expect(predictor.model).toBeUndefined();
  });
});

describe('POST /predict with no model loaded', () => {
  test('When the body is invalid, then it is 422 (validation needs no model) and counted under model_version="none"', async () => {
    const t = await buildApp({ model: null });

    const bad = await request(t.app)
      .post('/predict')
      .send(aTrip({ PULocationID: 0 }));
    const good = await request(t.app).post('/predict').send(aTrip());

    expect(bad.status).toBe(422);
    expect(good.status).toBe(503);
    expect(await t.metrics.registry.metrics()).toContain('predictions_total{model_version="none",outcome="invalid"} 1');
  });
});
