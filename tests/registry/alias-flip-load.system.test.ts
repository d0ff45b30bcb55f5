import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startFakeMlflow, type FakeMlflow } from '../support/mlflow-fake-server.js';
import {
  EMBEDDED_V1,
  EMBEDDED_V2,
  NAME,
  registerModelDir,
  startMlflowService,
  tempDir,
  type MlflowService,
} from '../support/mlflow-service.js';

let fake: FakeMlflow;
let cache: { path: string; remove: () => Promise<void> };
let svc: MlflowService | undefined;

beforeEach(async () => {
  fake = await startFakeMlflow({ major: 3 });
  cache = await tempDir('flip-cache-');
});
afterEach(async () => {
  await svc?.close();
  await fake.close();
  await cache.remove();
});

interface Sample {
  startedAt: number;
  endedAt: number;
  status: number;
  version: string | undefined;
}

const TRIP = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 4, pickup_datetime: '2021-02-03T08:30:00' });

describe('alias flip under steady load', () => {
  test('When the alias moves from v1 to v2 under 8 concurrent clients, then no request fails and, once v2 is seen, no later request gets v1', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    const v2 = await registerModelDir(fake, EMBEDDED_V2);
    svc = startMlflowService(fake, { MODEL_CACHE_DIR: cache.path, MODEL_POLL_INTERVAL_S: '0.05' });
    await svc.started;
    const base = await svc.listen();
    const samples: Sample[] = [];
    // why: phases end on counts of answers, never on wall time, so a busy machine only makes it slower.
    const waiters: { until: () => boolean; resolve: () => void }[] = [];
    const reached = (until: () => boolean) => new Promise<void>((resolve) => (until() ? resolve() : waiters.push({ until, resolve })));
    const record = (sample: Sample) => {
      samples.push(sample);
      for (const w of waiters.filter((w) => w.until())) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    };
    const count = (version: string) => samples.filter((s) => s.version === `${NAME}/${version}`).length;
    let done = false;
    const client = async () => {
      while (!done) {
        const startedAt = performance.now();
        try {
          const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: TRIP });
          const body = (await res.json()) as { model_version?: string };
          record({ startedAt, endedAt: performance.now(), status: res.status, version: body.model_version });
        } catch {
          record({ startedAt, endedAt: performance.now(), status: 0, version: undefined });
        }
      }
    };

    const clients = Array.from({ length: 8 }, client);
    await reached(() => count('1') >= 100);
    fake.setAlias(NAME, 'production', v2);
    await reached(() => count('2') >= 200);
    done = true;
    await Promise.all(clients);

    const firstNew = Math.min(...samples.filter((s) => s.version === `${NAME}/2`).map((s) => s.endedAt));
    const oldAfterSwap = samples.filter((s) => s.startedAt > firstNew && s.version === `${NAME}/1`);
    const counts = {
      total: samples.length,
      v1: samples.filter((s) => s.version === `${NAME}/1`).length,
      v2: samples.filter((s) => s.version === `${NAME}/2`).length,
    };
    console.log(`alias flip under load: ${JSON.stringify(counts)}`);
    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    expect(counts.v1 + counts.v2).toBe(counts.total);
    expect(counts.v1).toBeGreaterThan(0);
    expect(counts.v2).toBeGreaterThan(0);
    expect(oldAfterSwap).toEqual([]);
    expect(svc.logs).toContainEqual(
      expect.objectContaining({ msg: 'model swapped', model_version: `${NAME}/2`, previous_model_version: `${NAME}/1`, trigger: 'poll' }),
    );
  });
});
