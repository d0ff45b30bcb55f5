import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { createMlflowModelSource } from '../../src/registry/mlflow-model-source.js';
import { createModelCache } from '../../src/registry/model-cache.js';
import { parseModelUri } from '../../src/registry/model-uri.js';
import {
  MODEL,
  SKLEARN_MLMODEL,
  recordingLogger,
  registerMlflow2Version,
  registerMlflow3Version,
  startHarness,
  type Harness,
} from '../support/mlflow-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const champion = parseModelUri(`models:/${MODEL}@champion`);
const sourceWith = (logger = recordingLogger()) =>
  createMlflowModelSource({ client: h.client, cache: createModelCache({ dir: join(h.tmp, 'cache'), logger }), logger });

describe('MLflow model source', () => {
  test('When the alias resolves, then the model comes back fresh with its run and logged model', async () => {
    const { logged, run } = registerMlflow3Version(h.fake, undefined, { aliases: ['champion'] });

    const got = await sourceWith().resolve(champion);

    expect(got).toMatchObject({
      name: MODEL,
      version: '1',
      alias: 'champion',
      runId: run.run_id,
      modelId: logged.model_id,
      stale: false,
      fromCache: false,
      dir: join(h.tmp, 'cache', MODEL, '1', 'model'),
      onnxFile: join(h.tmp, 'cache', MODEL, '1', 'model', 'model.onnx'),
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

  test('When the registry is down with a version that loaded before, then resolve fails transient and lastLoaded offers that version, stale', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    const first = sourceWith();
    await first.recordLoaded(champion, await first.resolve(champion));
    await h.fake.down();
    const source = sourceWith();

    const err = await source.resolve(champion).catch((e: unknown) => e);
    const fallback = await source.lastLoaded(champion);

    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err).toMatchObject({
      reason: 'resolve',
      transient: true,
      message: expect.stringMatching(/ECONNREFUSED/),
      cause: { code: 'unavailable' },
    });
    expect(fallback).toMatchObject({ version: '1', alias: 'champion', stale: true, fromCache: true });
  });

  test('When a version was downloaded but never recorded as loaded, then lastLoaded does not offer it', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    await sourceWith().resolve(champion);

    expect(await sourceWith().lastLoaded(champion)).toBeUndefined();
  });

  test('When the alias was removed, then the cache does not mask it', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    const source = sourceWith();
    await source.resolve(champion);
    await h.client.deleteModelVersionAlias(MODEL, 'champion');

    await expect(source.resolve(champion)).rejects.toMatchObject({ reason: 'resolve', transient: false, cause: { code: 'not_found' } });
  });

  test('When the new version has no onnx flavor, then it is refused as an artifact failure', async () => {
    registerMlflow2Version(h.fake, { MLmodel: Buffer.from(SKLEARN_MLMODEL), 'model.pkl': Buffer.from('x') }, { aliases: ['champion'] });

    const err = await sourceWith()
      .resolve(champion)
      .catch((e: unknown) => e);

    expect(err).toMatchObject({
      reason: 'artifact',
      transient: false,
      message: expect.stringMatching(/its flavors are: python_function, sklearn/),
      cause: { code: 'invalid_model' },
    });
  });
});
