import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { DeferredStore } from '../../src/monitoring/deferred-store.js';
import { MemoryPredictionLog, type PredictionStore } from '../../src/monitoring/prediction-log.js';
import { REPO_ROOT } from '../support/app.js';

/** A load the test settles itself. */
function controlledLoad() {
  let settle!: { resolve: (s: PredictionStore) => void; reject: (e: Error) => void };
  const promise = new Promise<PredictionStore>((resolve, reject) => (settle = { resolve, reject }));
  return { load: () => promise, ...settle };
}

describe('DeferredStore', () => {
  test('When predictions come before the store is loaded, then they reach it in order once it is, and feedback is refused until then', async () => {
    const control = controlledLoad();
    const lost: number[] = [];
    const store = new DeferredStore({ kind: 'memory', load: control.load, onLoadError: () => undefined, onLost: (n) => lost.push(n) });
    store.put({ rideIds: ['a', 'b'], modelVersion: 'm/1', duration: [5, 6] });
    store.put({ rideIds: ['a'], modelVersion: 'm/1', duration: [7] });
    await expect(store.match([{ rideId: 'a', actual: 5 }])).rejects.toMatchObject({ code: 'feedback_unavailable' });

    const inner = new MemoryPredictionLog({ maxRides: 10, ttlMs: 60_000, now: () => 0 });
    control.resolve(inner);
    await store.loaded;
    store.put({ rideIds: ['c'], modelVersion: 'm/1', duration: [8] });
    expect(inner.size).toBe(3);
    expect(
      await store.match([
        { rideId: 'a', actual: 5 },
        { rideId: 'b', actual: 5 },
        { rideId: 'c', actual: 5 },
        { rideId: 'a', actual: 5 },
      ]),
    ).toEqual([
      [{ modelVersion: 'm/1', duration: 7 }],
      [{ modelVersion: 'm/1', duration: 6 }],
      [{ modelVersion: 'm/1', duration: 8 }],
      'duplicate',
    ]);
    expect(lost).toEqual([]);
  });

  test('When the store cannot be loaded, then that is reported once, every prediction is counted as lost and feedback is refused', async () => {
    const control = controlledLoad();
    const errors: Error[] = [];
    const lost: number[] = [];
    const store = new DeferredStore({ kind: 'redis', load: control.load, onLoadError: (e) => errors.push(e), onLost: (n) => lost.push(n) });
    store.put({ rideIds: [1, 2, 3], modelVersion: 'm/1', duration: [1, 2, 3] });
    control.reject(new Error('Cannot find package ioredis'));
    await store.loaded;
    store.put({ rideIds: [4], modelVersion: 'm/1', duration: [4] });
    expect(errors.map((e) => e.message)).toEqual(['Cannot find package ioredis']);
    expect(lost).toEqual([3, 1]);
    await expect(store.match([{ rideId: 1, actual: 5 }])).rejects.toMatchObject({
      code: 'feedback_unavailable',
      message: 'the prediction log could not be loaded',
    });
    await expect(store.close()).resolves.toBeUndefined();
  });

  test('When it is closed before the store has loaded, then the store is closed once it is', async () => {
    const control = controlledLoad();
    let closed = 0;
    const inner = new MemoryPredictionLog({ maxRides: 10, ttlMs: 60_000 });
    const store = new DeferredStore({
      kind: 'memory',
      load: control.load,
      onLoadError: () => undefined,
      onLost: () => undefined,
    });
    const closing = store.close();
    control.resolve({ kind: 'memory', put: (b) => inner.put(b), match: (i) => inner.match(i), close: async () => void closed++ });
    await closing;
    expect(closed).toBe(1);
  });

  test('When a service starts without REDIS_URL, then ioredis is never loaded; with it, the monitor loads it', () => {
    // why a child process: the test runner's own module graph is not the service's.
    const probe = `
      import { createRequire } from 'node:module';
      import { loadConfig } from './src/config.ts';
      import { createService } from './src/create-service.ts';
      import { createLogger } from './src/observability/logger.ts';
      const cache = createRequire(import.meta.url).cache;
      const redisLoaded = () => Object.keys(cache).some((f) => f.includes('/node_modules/ioredis/'));
      const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', MODEL_POLL_INTERVAL_S: '0', LOG_LEVEL: 'silent' });
      const service = createService(config, createLogger({ level: 'silent', destination: { write: () => undefined } }), { cwd: process.cwd() });
      // why stop first: stopping waits for the monitor's store to have loaded and closed.
      await service.stop();
      process.stdout.write(String(redisLoaded()));
    `;
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
      });
    expect(run({})).toBe('false');
    // An unreachable port: the store is loaded and keeps retrying; nothing is sent anywhere else.
    expect(run({ REDIS_URL: 'redis://127.0.0.1:1' })).toBe('true');
  }, 60_000);
});
