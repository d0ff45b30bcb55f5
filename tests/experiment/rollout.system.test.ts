import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT, main } from '../../src/experiment/promote-cli.js';
import { waitFor } from '../support/ports.js';
import { REPO_ROOT } from '../support/app.js';
import { clientLoop, copyRegistry, embedded, NAME, requireData, startService, type RunningService } from './support.js';

describe('rollout through the promotion gate', () => {
  let registry: { root: string; modelDir: string };
  let running: RunningService;

  beforeAll(async () => {
    registry = await copyRegistry({ '1': embedded('1'), '3': embedded('3') }, { production: '1' });
    running = await startService({
      REGISTRY_URI: `file:${registry.root}`,
      MODEL_URI: `models:/${NAME}@production`,
      MODEL_POLL_INTERVAL_S: '0.2',
    });
  });
  afterAll(async () => {
    await running?.close();
    await rm(registry.root, { recursive: true, force: true });
  });

  test('When promote --apply passes while clients load the service, then the service serves the new version at its next poll with zero failed requests', async () => {
    const load = clientLoop(running.port, 4, { PULocationID: 74, DOLocationID: 75, trip_distance: 2.1 });
    let out = '';
    let err = '';
    let result;
    try {
      await waitFor(async () => (load.count() >= 50 ? true : undefined), 'load under way');
      const code = await main(
        [
          '--challenger',
          `models:/${NAME}/3`,
          '--data',
          requireData(),
          '--registry',
          `file:${registry.root}`,
          '--apply',
          '--bootstrap',
          '200',
        ],
        { env: {}, cwd: REPO_ROOT, out: (t) => (out += t), err: (t) => (err += t) },
      );
      expect({ code, err }).toEqual({ code: EXIT.better, err: '' });
      expect(JSON.parse(await readFile(join(registry.modelDir, 'aliases.json'), 'utf8'))).toEqual({ production: '3' });
      const swap = await running.logged((l) => l.msg === 'model swapped' && l.arm === undefined);
      expect(swap).toMatchObject({ model_version: `${NAME}/3`, previous_model_version: `${NAME}/1`, trigger: 'poll' });
      const afterSwap = load.count();
      await waitFor(async () => (load.count() >= afterSwap + 50 ? true : undefined), 'answers after the swap');
    } finally {
      result = await load.stop();
    }

    expect(result.errors).toEqual([]);
    expect(result.answers.filter((a) => a.status !== 200)).toEqual([]);
    const versions = result.answers.map((a) => a.body.model_version);
    expect(versions[0]).toBe(`${NAME}/1`);
    expect(versions.at(-1)).toBe(`${NAME}/3`);
    // why: once a request saw version 3, no later one may see version 1 (a one-way swap).
    const firstNew = versions.indexOf(`${NAME}/3`);
    expect(versions.slice(firstNew + 8).includes(`${NAME}/1`)).toBe(false);
    console.info(`rollout: ${result.answers.length} requests, 0 failed; version 1 → 3 after ${firstNew} answers`);
  });
});
