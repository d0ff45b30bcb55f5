import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../support/app.js';
import { childEnv } from '../support/child-env.js';

describe('the Redis client module', () => {
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
        env: { ...childEnv(), ...env },
        encoding: 'utf8',
      });
    expect(run({})).toBe('false');
    // An unreachable port: the store is loaded and keeps retrying; nothing is sent anywhere else.
    expect(run({ REDIS_URL: 'redis://127.0.0.1:1' })).toBe('true');
  }, 60_000);
});
