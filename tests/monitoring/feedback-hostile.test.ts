import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HUGE_BODIES, hostileJsonText, invalidUtf8Body, leaksInternals, randomBytes } from '../support/hostile.js';
import { REPO_ROOT } from '../support/app.js';
import { sample, startMonitoredService, type MonitoredService } from './support.js';

/** A feedback-shaped object whose fields get hostile values, alone or in a batch. */
const hostileFeedbackText = fc
  .tuple(hostileJsonText, hostileJsonText)
  .map(([id, actual]) => `{"ride_id":${id},"actual_duration":${actual}}`)
  .chain((item) => fc.constantFrom(item, `{"feedback":[${item}]}`, `{"feedback":[${item},${item}]}`, `[${item}]`, `{"feedback":${item}}`));

describe('hostile input against POST /feedback (the service as composed for production)', () => {
  let s: MonitoredService;
  let matchedAnswers = 0;
  const send = async (body: string | Buffer) => {
    const res = await fetch(`${s.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await res.text();
    expect([200, 400, 413, 415, 422]).toContain(res.status);
    expect(leaksInternals(text, REPO_ROOT)).toBe(false);
    if (res.status === 200) matchedAnswers += JSON.parse(text).matched;
    else expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
  };

  beforeAll(async () => {
    s = await startMonitoredService({ LOG_LEVEL: 'silent' });
    // Rides that hostile feedback may hit (ids 0–9 and short strings are common in the generators).
    const ids = [...Array.from({ length: 10 }, (_, i) => i), '', 'a', '0', 'constructor', '__proto__'].filter((id) => id !== '');
    await s.post('/predict', { trips: ids.map((ride_id) => ({ PULocationID: 1, DOLocationID: 2, trip_distance: 1, ride_id })) });
  });
  afterAll(() => s.close());

  test('When feedback bodies carry wrong types, extreme numbers, prototype keys, bad bytes, then only 200 or 4xx come back', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(hostileFeedbackText, hostileJsonText), send), { numRuns: 300 });
    await fc.assert(fc.asyncProperty(fc.oneof(invalidUtf8Body, randomBytes), send), { numRuns: 60 });
  });

  test.each(Object.entries(HUGE_BODIES))('When the body is %s, then a 4xx comes back', async (_name, body) => {
    await send(body);
  });

  test('When all of the above has run, then every matched ride was counted once and a fresh ride still matches once', async () => {
    const metrics = (await s.get('/metrics')).text;
    expect(sample(metrics, 'prediction_feedback_total', { model_version: 'taxi-ride-duration/4', outcome: 'matched' })).toBe(
      matchedAnswers,
    );
    expect(matchedAnswers).toBeLessThanOrEqual(14);
    await s.post('/predict', { PULocationID: 1, DOLocationID: 2, trip_distance: 1, ride_id: 'fresh' });
    const [a, b] = await Promise.all([
      s.post('/feedback', { ride_id: 'fresh', actual_duration: 3 }),
      s.post('/feedback', { ride_id: 'fresh', actual_duration: 3 }),
    ]);
    expect(a.body.matched + b.body.matched).toBe(1);
    expect(a.body.duplicate + b.body.duplicate).toBe(1);
  });
});
