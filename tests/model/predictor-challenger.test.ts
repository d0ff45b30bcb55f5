import { describe, expect, test } from 'vitest';
import { isChallengerRide } from '../../src/model/arm.js';
import { predictHandler } from '../../src/http/routes/predict.js';
import { ModelSlot } from '../../src/model/model-slot.js';
import { createPredictor, rideIdSequence, type ChallengerDeps, type ShadowEvent } from '../../src/model/predictor.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { aValidTrip, fakeModel, gate } from '../support/app.js';

const trip = aValidTrip;
const constant = (value: number) => async (_c: unknown, n: number) => new Float32Array(n).fill(value);

async function counted(metrics: Metrics, outcome: string): Promise<number> {
  const m = await metrics.experiment.challengerPredictions.get();
  return m.values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

async function setUp(challenger: Partial<ChallengerDeps> & { run?: Parameters<typeof fakeModel>[0]; loaded?: boolean } = {}) {
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  const slot = new ModelSlot();
  await slot.swap(fakeModel(constant(10), { modelVersion: 'm/3' }));
  const challengerSlot = new ModelSlot();
  if (challenger.loaded !== false) await challengerSlot.swap(fakeModel(challenger.run ?? constant(20), { modelVersion: 'm/1' }));
  const errors: unknown[] = [];
  const predictor = createPredictor({
    slot,
    metrics,
    newRideId: rideIdSequence('r'),
    challenger: {
      slot: challengerSlot,
      mode: challenger.mode ?? 'shadow',
      percent: challenger.percent ?? 10,
      onError: (err) => errors.push(err),
      maxShadowInFlight: challenger.maxShadowInFlight,
    },
  });
  const shadows: ShadowEvent[] = [];
  let shadowSeen: () => void = () => undefined;
  predictor.onShadowPredictions((e) => {
    shadows.push(e);
    shadowSeen();
  });
  const nextShadow = () => new Promise<void>((resolve) => (shadowSeen = resolve));
  return { predictor, metrics, errors, shadows, nextShadow, challengerSlot };
}

/** Lets the setImmediate-scheduled shadow runs start and settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('predictor with a shadow challenger', () => {
  test('When trips are predicted, then the champion answers and the challenger predicts the same rides afterwards, measured against it', async () => {
    const { predictor, metrics, shadows, nextShadow } = await setUp();
    const seen = nextShadow();

    const p = await predictor.predict([trip({ ride_id: 'a' }), trip()], 0);
    await seen;

    expect(Array.from(p.duration)).toEqual([10, 10]);
    expect(p.modelVersion).toBe('m/3');
    expect(shadows).toHaveLength(1);
    expect(shadows[0].predictions.modelVersion).toBe('m/1');
    expect(Array.from(shadows[0].predictions.duration)).toEqual([20, 20]);
    expect(shadows[0].predictions.rideIds).toEqual(['a', 'r-0']);
    expect(shadows[0].champion).toBe(p);
    expect(await counted(metrics, 'success')).toBe(2);
    const diff = await metrics.experiment.shadowAbsoluteDifference.get();
    expect(diff.values.find((v) => v.metricName === 'shadow_absolute_difference_minutes_sum')?.value).toBe(20);
    const served = await metrics.predictions.get();
    expect(served.values.filter((v) => v.labels.model_version === 'm/1')).toEqual([]);
  });

  test('When the challenger is still running, then the caller already has its answer', async () => {
    const held = gate<Float32Array>();
    const { predictor, nextShadow } = await setUp({ run: () => held.promise });
    const seen = nextShadow();

    const p = await predictor.predict([trip()], 0);
    expect(p.duration[0]).toBe(10);

    held.open(new Float32Array([7]));
    await seen;
  });

  test("When the challenger fails, then the answer is the champion's, and the failure is counted and reported", async () => {
    const { predictor, metrics, errors } = await setUp({
      run: async () => {
        throw new Error('boom');
      },
    });

    const p = await predictor.predict([trip(), trip()], 0);
    await settle();

    expect(Array.from(p.duration)).toEqual([10, 10]);
    expect(await counted(metrics, 'error')).toBe(2);
    expect(errors).toHaveLength(1);
  });

  test('When the challenger returns NaN, then it counts as an error and nothing is compared', async () => {
    const { predictor, metrics, shadows } = await setUp({ run: constant(Number.NaN) });

    await predictor.predict([trip()], 0);
    await settle();

    expect(await counted(metrics, 'error')).toBe(1);
    expect(shadows).toEqual([]);
  });

  test('When no challenger is loaded, then the rides are counted as not_loaded', async () => {
    const { predictor, metrics } = await setUp({ loaded: false });

    const p = await predictor.predict([trip()], 0);

    expect(p.duration[0]).toBe(10);
    expect(await counted(metrics, 'not_loaded')).toBe(1);
    expect(predictor.challenger).toEqual({ mode: 'shadow', percent: 10, model: undefined });
  });

  test('When shadow runs are at their cap, then more trips are skipped, not queued', async () => {
    const held = gate<Float32Array>();
    const { predictor, metrics, nextShadow } = await setUp({ run: () => held.promise, maxShadowInFlight: 1 });
    const seen = nextShadow();

    await predictor.predict([trip()], 0);
    await predictor.predict([trip(), trip()], 0);
    held.open(new Float32Array([1]));
    await seen;

    expect(await counted(metrics, 'skipped')).toBe(2);
    expect(await counted(metrics, 'success')).toBe(1);
  });
});

describe('predictor with a split challenger', () => {
  const ids = Array.from({ length: 200 }, (_, i) => `ride-${i}`);

  test('When a batch mixes arms, then each trip is answered by the arm its ride id hashes to, and says so', async () => {
    const { predictor, metrics } = await setUp({ mode: 'split', percent: 30 });

    const p = await predictor.predict(
      ids.map((ride_id) => trip({ ride_id })),
      0,
    );

    const expected = ids.map((id) => (isChallengerRide(id, 30) ? 'm/1' : 'm/3'));
    expect(expected).toContain('m/1');
    expect(expected).toContain('m/3');
    expect(p.modelVersions).toEqual(expected);
    expect(Array.from(p.duration)).toEqual(expected.map((v) => (v === 'm/1' ? 20 : 10)));
    expect(p.rideIds).toEqual(ids);
    expect(await counted(metrics, 'success')).toBe(expected.filter((v) => v === 'm/1').length);
  });

  test('When every ride of a request falls on one arm, then that arm answers with no per-trip versions', async () => {
    const all = await setUp({ mode: 'split', percent: 100 });
    const none = await setUp({ mode: 'split', percent: 0 });

    const p = await all.predictor.predict([trip({ ride_id: 1 })], 0);
    const q = await none.predictor.predict([trip({ ride_id: 1 })], 0);

    expect([p.modelVersion, p.duration[0], p.modelVersions]).toEqual(['m/1', 20, undefined]);
    expect([q.modelVersion, q.duration[0], q.modelVersions]).toEqual(['m/3', 10, undefined]);
  });

  test('When the challenger fails or is not loaded, then the champion answers its rides too', async () => {
    const failing = await setUp({
      mode: 'split',
      percent: 50,
      run: async () => {
        throw new Error('boom');
      },
    });
    const absent = await setUp({ mode: 'split', percent: 50, loaded: false });

    const p = await failing.predictor.predict(
      ids.map((ride_id) => trip({ ride_id })),
      0,
    );
    const q = await absent.predictor.predict(
      ids.map((ride_id) => trip({ ride_id })),
      0,
    );
    const single = await failing.predictor.predict([trip({ ride_id: ids.find((id) => isChallengerRide(id, 50)) })], 0);

    for (const r of [p, q, single]) {
      expect(r.modelVersion).toBe('m/3');
      expect(r.modelVersions).toBeUndefined();
      expect(Array.from(r.duration).every((d) => d === 10)).toBe(true);
    }
    const k = ids.filter((id) => isChallengerRide(id, 50)).length;
    expect(await counted(failing.metrics, 'error')).toBe(k + 1);
    expect(await counted(absent.metrics, 'not_loaded')).toBe(k);
    expect(failing.errors).toHaveLength(2);
  });

  test('When a mixed batch is served by POST /predict, then each prediction carries the version that answered it', async () => {
    const { predictor } = await setUp({ mode: 'split', percent: 50 });
    const handler = predictHandler({ predictor, maxBatch: 1000, now: () => 0 });
    const body = { trips: ids.slice(0, 20).map((ride_id) => ({ PULocationID: 10, DOLocationID: 20, trip_distance: 3, ride_id })) };

    const reply = await handler(body, { requestId: 'x', startedAt: 0, route: undefined, modelVersion: undefined }, undefined as never, {});
    const single = await handler(
      { PULocationID: 1, DOLocationID: 2, trip_distance: 1, ride_id: 'ride-0' },
      { requestId: 'y', startedAt: 0, route: undefined, modelVersion: undefined },
      undefined as never,
      {},
    );

    const parsed = JSON.parse(reply.body) as {
      predictions: { model_version: string; ride_id: string; duration: number }[];
      model_version: string;
    };
    expect(parsed.predictions.map((p) => p.model_version)).toEqual(
      ids.slice(0, 20).map((id) => (isChallengerRide(id, 50) ? 'm/1' : 'm/3')),
    );
    expect(parsed.predictions.every((p) => p.duration === (p.model_version === 'm/1' ? 20 : 10))).toBe(true);
    expect(Object.keys(JSON.parse(single.body))).toEqual(['duration', 'ride_id', 'model_version']);
    expect(JSON.parse(single.body).model_version).toBe(isChallengerRide('ride-0', 50) ? 'm/1' : 'm/3');
  });
});
