import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/ports.js';
import { startRedis, type RedisHandle } from '../support/redis.js';
import { findSystemTool } from '../support/system-tools.js';
import { sample, startMonitoredService, type MonitoredService } from './support.js';

const trip = { PULocationID: 74, DOLocationID: 75, trip_distance: 1.2 };

describe.skipIf(findSystemTool('redis-server') === undefined)('Prediction log in Redis (REDIS_URL), real redis-server', () => {
  let redis: RedisHandle;
  let a: MonitoredService;
  let b: MonitoredService;
  beforeAll(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '200' };
    [a, b] = await Promise.all([startMonitoredService(env), startMonitoredService(env)]);
    // why: the first write waits for the connection; a prediction is logged once Redis is ready.
    await waitFor(
      async () =>
        a.logs.some((l) => l.msg.includes('connected to Redis')) && b.logs.some((l) => l.msg.includes('connected to Redis'))
          ? true
          : undefined,
      'both instances to reach Redis',
    );
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  test('When a ride is predicted by one instance and its feedback reaches the other, then it matches, once, even sent to both at once', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `shared-${i}`);
    expect((await a.post('/predict', { trips: ids.map((ride_id) => ({ ...trip, ride_id })) })).status).toBe(200);
    const body = { feedback: ids.map((ride_id) => ({ ride_id, actual_duration: 9 })) };
    const answers = await Promise.all([b.post('/feedback', body), a.post('/feedback', body), b.post('/feedback', body)]);
    expect(answers.map((x) => x.status)).toEqual([200, 200, 200]);
    expect(answers.reduce((n, x) => n + x.body.matched, 0)).toBe(30);
    expect(answers.reduce((n, x) => n + x.body.duplicate, 0)).toBe(60);
    const report = (await b.get('/monitoring')).body;
    expect(report.prediction_log).toEqual({ store: 'redis', ttl_s: 7200 });
  });

  test('When the instance that predicted has restarted, then its predictions still match', async () => {
    await a.post('/predict', { ...trip, ride_id: 'before-restart' });
    await a.close();
    a = await startMonitoredService({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '200' });
    await waitFor(
      async () => (a.logs.some((l) => l.msg.includes('connected to Redis')) ? true : undefined),
      'the new instance to reach Redis',
    );
    expect((await a.post('/feedback', { ride_id: 'before-restart', actual_duration: 4 })).body).toEqual({
      matched: 1,
      unknown: 0,
      duplicate: 0,
    });
  });

  test('When Redis is down, then /predict answers, the loss is counted and logged, /feedback is 503 with Retry-After; and it recovers', async () => {
    await redis.pause();
    await waitFor(
      async () => ((await b.post('/feedback', { ride_id: 'x', actual_duration: 4 })).status === 503 ? true : undefined),
      'feedback to report Redis down',
    );
    const down = await b.post('/feedback', { ride_id: 'x', actual_duration: 4 });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(down.body.type).toContain('feedback_unavailable');
    for (let i = 0; i < 20; i++) expect((await b.post('/predict', { ...trip, ride_id: `lost-${i}` })).status).toBe(200);
    const lost = await waitFor(async () => {
      const n = sample((await b.get('/metrics')).text, 'prediction_log_errors_total', { reason: 'redis_unavailable' });
      return n >= 20 ? n : undefined;
    }, 'the lost predictions to be counted');
    expect(lost).toBe(20);
    expect(b.logs.some((l) => l.msg === 'predictions could not be logged for feedback' || l.msg.includes('unreachable'))).toBe(true);

    await redis.resume();
    await waitFor(
      async () => ((await b.post('/feedback', { ride_id: 'y', actual_duration: 4 })).status === 200 ? true : undefined),
      'feedback to work again',
      30_000,
    );
    await b.post('/predict', { ...trip, ride_id: 'after-outage' });
    expect((await a.post('/feedback', { ride_id: 'after-outage', actual_duration: 4 })).body.matched).toBe(1);
  });
});
