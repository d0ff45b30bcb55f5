import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sample, startMonitoredService, type MonitoredService } from './support.js';

const trip = { PULocationID: 74, DOLocationID: 75, trip_distance: 1.2, pickup_datetime: '2021-02-03T08:15:00' };

describe('POST /feedback and GET /monitoring (version 4, in-memory log)', () => {
  let s: MonitoredService;
  beforeAll(async () => {
    s = await startMonitoredService();
  });
  afterAll(() => s.close());

  test('When a ride is predicted then its actual duration is sent, then it is matched once, scored per version, and a resend is a duplicate', async () => {
    const predicted = await s.post('/predict', { ...trip, ride_id: 'r-1' });
    expect(predicted.status).toBe(200);
    expect(predicted.body.ride_id).toBe('r-1');
    const first = await s.post('/feedback', { ride_id: 'r-1', actual_duration: 12.5 });
    expect(first).toMatchObject({ status: 200, body: { matched: 1, unknown: 0, duplicate: 0 } });
    const again = await s.post('/feedback', { ride_id: 'r-1', actual_duration: 12.5 });
    expect(again.body).toEqual({ matched: 0, unknown: 0, duplicate: 1 });
    const unknown = await s.post('/feedback', { feedback: [{ ride_id: 'never-predicted', actual_duration: 3 }] });
    expect(unknown.body).toEqual({ matched: 0, unknown: 1, duplicate: 0 });

    const metrics = (await s.get('/metrics')).text;
    const v = 'taxi-ride-duration/4';
    expect(sample(metrics, 'prediction_feedback_total', { model_version: v, outcome: 'matched' })).toBe(1);
    expect(sample(metrics, 'prediction_feedback_total', { model_version: 'unknown', outcome: 'duplicate' })).toBe(1);
    expect(sample(metrics, 'prediction_feedback_total', { model_version: 'unknown', outcome: 'unknown' })).toBe(1);
    const sse = sample(metrics, 'prediction_squared_error_sum', { model_version: v });
    const error = 12.5 - predicted.body.duration;
    expect(Math.sqrt(sse)).toBeCloseTo(Math.abs(error), 2);
    const side = 12.5 < predicted.body.duration_p10 ? 'below' : 12.5 > predicted.body.duration_p90 ? 'above' : 'inside';
    expect(sample(metrics, 'prediction_interval_hits_total', { model_version: v, side })).toBe(1);

    const report = (await s.get('/monitoring')).body;
    expect(report.model_version).toBe(v);
    const accuracy = report.accuracy.find((a: { model_version: string }) => a.model_version === v);
    expect(accuracy).toMatchObject({ n: 1, interval_n: 1 });
    expect(accuracy.rmse).toBeCloseTo(Math.abs(error), 2);
    expect(accuracy.mean_error).toBeCloseTo(error, 2);
    expect(accuracy.training_rmse).toBeGreaterThan(4);
    expect(report.prediction_log).toMatchObject({ store: 'memory', ttl_s: 7200 });
    expect(report.drift).toMatchObject({ available: true, window_s: 86400, min_trips: 1000, verdict: false });
    expect(report.drift.trips).toBeGreaterThanOrEqual(1);
    expect(report.drift.features.map((f: { feature: string }) => f.feature)).toEqual([
      'PULocationID',
      'DOLocationID',
      'trip_distance',
      'pickup_hour',
      'pickup_dow',
      'prediction',
    ]);
  });

  test('When the same feedback is sent many times at once, then it is counted exactly once', async () => {
    const batch = await s.post('/predict', { trips: Array.from({ length: 20 }, (_, i) => ({ ...trip, ride_id: 1000 + i })) });
    expect(batch.status).toBe(200);
    const body = { feedback: Array.from({ length: 20 }, (_, i) => ({ ride_id: 1000 + i, actual_duration: 10 })) };
    const answers = await Promise.all(Array.from({ length: 8 }, () => s.post('/feedback', body)));
    const total = answers.reduce((acc, a) => ({ matched: acc.matched + a.body.matched, duplicate: acc.duplicate + a.body.duplicate }), {
      matched: 0,
      duplicate: 0,
    });
    expect(total).toEqual({ matched: 20, duplicate: 140 });
  });

  test('When a shadow version logs its own prediction, then feedback matches both and listeners get the pair', async () => {
    const monitor = s.service.monitor!;
    const events: unknown[] = [];
    const off = monitor.onFeedback((e) => events.push(e));
    const predicted = await s.post('/predict', { ...trip, ride_id: 'pair-1' });
    monitor.logPredictions({ rideIds: ['pair-1'], modelVersion: 'challenger/7', duration: [9.5], arm: 'shadow' });
    const answer = await s.post('/feedback', { ride_id: 'pair-1', actual_duration: 11 });
    off();
    expect(answer.body.matched).toBe(1);
    expect(events).toEqual([
      {
        rideId: 'pair-1',
        actual: 11,
        predictions: [
          expect.objectContaining({ modelVersion: 'taxi-ride-duration/4', duration: expect.closeTo(predicted.body.duration, 2) }),
          { modelVersion: 'challenger/7', duration: 9.5, arm: 'shadow' },
        ],
      },
    ]);
    const metrics = (await s.get('/metrics')).text;
    expect(sample(metrics, 'prediction_squared_error_sum', { model_version: 'challenger/7' })).toBeCloseTo(2.25, 6);
  });

  test('When feedback is malformed, then it gets 422 naming each field, or 413 for too many items', async () => {
    const bad = await s.post('/feedback', {
      feedback: [{ ride_id: 'ok', actual_duration: 0 }, { actual_duration: 'x' }, { ride_id: 'a b', actual_duration: 1441 }],
    });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'feedback[0].actual_duration',
      'feedback[1].ride_id',
      'feedback[1].actual_duration',
      'feedback[2].ride_id',
      'feedback[2].actual_duration',
    ]);
    expect((await s.post('/feedback', { ride_id: 5 })).body.errors).toEqual([
      { field: 'actual_duration', message: expect.stringContaining('is required') },
    ]);
    expect((await s.post('/feedback', { feedback: [] })).status).toBe(422);
    expect(
      (await s.post('/feedback', { feedback: Array.from({ length: 10_001 }, () => ({ ride_id: 1, actual_duration: 1 })) })).status,
    ).toBe(413);
    expect((await s.post('/feedback', '{"ride_id": 1, ')).status).toBe(400);
  });

  test('When /monitoring or /feedback gets the wrong method, then 405 says which is allowed', async () => {
    const res = await fetch(`${s.url}/feedback`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const post = await fetch(`${s.url}/monitoring`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(post.status).toBe(405);
  });
});

describe('A version without a drift reference (version 3)', () => {
  test('When it serves, then accuracy is still computed, drift says why it is absent, and the log says so once', async () => {
    const s = await startMonitoredService({ MODEL_URI: 'models:/taxi-ride-duration/3' });
    try {
      for (let i = 0; i < 3; i++) await s.post('/predict', { ...trip, ride_id: `v3-${i}` });
      await s.post('/feedback', { feedback: [0, 1, 2].map((i) => ({ ride_id: `v3-${i}`, actual_duration: 10 })) });
      const report = (await s.get('/monitoring')).body;
      expect(report.drift).toEqual({
        model_version: 'taxi-ride-duration/3',
        available: false,
        reason: expect.stringContaining('no drift_reference'),
      });
      expect(report.accuracy).toEqual([expect.objectContaining({ model_version: 'taxi-ride-duration/3', n: 3, interval_coverage: null })]);
      expect(s.logs.filter((l) => l.msg.includes('no drift_reference'))).toHaveLength(1);
    } finally {
      await s.close();
    }
  });
});
