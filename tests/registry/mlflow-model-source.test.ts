import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createMlflowModelSource, loadFailureReason } from '../../src/registry/mlflow-model-source.js';
import { createModelCache } from '../../src/registry/model-cache.js';
import { MODEL, SKLEARN_MLMODEL, recordingLogger, registerMlflow2Version, registerMlflow3Version, startHarness, type Harness } from '../support/mlflow-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const champion = { text: `models:/${MODEL}@champion` };
const sourceWith = (logger = recordingLogger()) =>
  createMlflowModelSource({ client: h.client, cache: createModelCache({ dir: join(h.tmp, 'cache'), logger }), logger });

describe('MLflow model source', () => {
  test('When the alias resolves, then the model comes back fresh with its run and logged model', async () => {
    const { logged, run } = registerMlflow3Version(h.fake, undefined, { aliases: ['champion'] });

    const got = await sourceWith().resolve(champion);

    expect(got).toMatchObject({
      name: MODEL, version: '1', alias: 'champion', runId: run.run_id, modelId: logged.model_id, stale: false, fromCache: false,
      dir: join(h.tmp, 'cache', MODEL, '1', 'model'), onnxFile: join(h.tmp, 'cache', MODEL, '1', 'model', 'model.onnx'),
    });
  });

  test('When the alias flips, then peek sees the new version and resolve downloads it', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    registerMlflow2Version(h.fake);
    const source = sourceWith();
    await source.resolve(champion);

    h.fake.setAlias(MODEL, 'champion', '2');
    const peeked = await source.peek(champion);
    const got = await source.resolve(champion);

    expect(peeked.version).toBe('2');
    expect(got).toMatchObject({ version: '2', fromCache: false, stale: false });
  });

  test('When the registry is down at start-up with a cache, then the last good version is served, marked stale and logged', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    await sourceWith().resolve(champion);
    await h.fake.down();
    const logger = recordingLogger();

    const got = await sourceWith(logger).resolve(champion);

    expect(got).toMatchObject({ version: '1', alias: 'champion', stale: true, fromCache: true });
    expect(logger.lines).toContainEqual(expect.objectContaining({
      level: 'warn', msg: 'MLflow registry unreachable; serving the last good cached version', obj: expect.objectContaining({ version: '1' }),
    }));
  });

  test('When the registry is down at start-up without a cache, then the unavailable error comes through', async () => {
    await h.fake.down();

    const err = await sourceWith().resolve(champion).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/ECONNREFUSED/) });
    expect(loadFailureReason(err)).toBe('resolve');
  });

  test('When the alias was removed, then the cache does not mask it', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    const source = sourceWith();
    await source.resolve(champion);
    await h.client.deleteModelVersionAlias(MODEL, 'champion');

    await expect(source.resolve(champion)).rejects.toMatchObject({ code: 'not_found' });
  });

  test('When the new version has no onnx flavor, then it is refused as an artifact failure', async () => {
    registerMlflow2Version(h.fake, { MLmodel: Buffer.from(SKLEARN_MLMODEL), 'model.pkl': Buffer.from('x') }, { aliases: ['champion'] });

    const err = await sourceWith().resolve(champion).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'invalid_model', message: expect.stringMatching(/its flavors are: python_function, sklearn/) });
    expect(loadFailureReason(err)).toBe('artifact');
    expect(sourceWith().failureReason(err)).toBe('artifact');
  });
});
