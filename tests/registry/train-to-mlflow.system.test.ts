import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProgress } from '../../src/cli/progress.js';
import { parseCliArgs } from '../../src/training/cli.js';
import { DEFAULT_PARAMS } from '../../src/training/presets.js';
import { runTraining, type TrainOptions } from '../../src/training/run-training.js';
import { startFakeMlflow, type FakeMlflow } from '../support/mlflow-fake-server.js';
import { syntheticTrips, writeTripParquet } from '../support/trip-fixtures.js';
import { startMlflowService, tempDir } from '../support/mlflow-service.js';
import { requireSharedData } from '../support/shared-data.js';

let fake: FakeMlflow;
let work: { path: string; remove: () => Promise<void> };
const quiet = createProgress({ write: () => true } as unknown as NodeJS.WriteStream, false);
const params = { ...DEFAULT_PARAMS, gbdt: { ...DEFAULT_PARAMS.gbdt, maxRounds: 40 } };

beforeAll(async () => {
  requireSharedData(['taxi_zone_centroids.csv']);
  fake = await startFakeMlflow({ major: 3 });
  work = await tempDir('train-mlflow-');
  writeTripParquet(join(work.path, 'green_tripdata_2021-01.parquet'), syntheticTrips(1200, 31, 0));
  writeTripParquet(join(work.path, 'green_tripdata_2021-02.parquet'), syntheticTrips(400, 32, 1));
});
afterAll(async () => {
  await fake.close();
  await work.remove();
});

/** A training run on the fixture months that registers into the fake MLflow server. */
const trainToFake = (options: Pick<TrainOptions, 'featureSet'> & Partial<TrainOptions>) =>
  runTraining(
    {
      train: join(work.path, 'green_tripdata_2021-01.parquet'),
      validation: join(work.path, 'green_tripdata_2021-02.parquet'),
      registry: fake.url,
      // why one retry: a training run pauses for seconds between calls, and a kept-alive socket the fake
      // server closes at that moment is reset (as gunicorn's short keep-alive would); MLflow's own client retries too.
      mlflow: { trackingUri: fake.url, maxRetries: 1, backoffFactor: 0.01, backoffJitter: 0 },
      name: 'taxi-ride-duration',
      seed: 7,
      params,
      ...options,
    },
    quiet,
  );

describe('training to MLflow', () => {
  test('When --registry is an http(s) URL, then the CLI reads MLflow credentials and retry settings from the environment', () => {
    const options = parseCliArgs(['--train', 'a.parquet', '--validation', 'b.parquet', '--registry', 'http://127.0.0.1:5000']);

    expect(options.mlflow).toMatchObject({ trackingUri: 'http://127.0.0.1:5000', maxRetries: 7, timeoutMs: 120_000 });
  });

  test('When trained with an MLflow registry, then the run, its artifacts, the version and the alias are there, and the service serves that version', async () => {
    const outcome = await trainToFake({ featureSet: 'time', alias: 'production' });

    const model = fake.model('taxi-ride-duration')!;
    const version = model.versions.get(outcome.version)!;
    const run = fake.run(version.run_id!)!;
    expect(outcome).toMatchObject({ version: '1', dir: 'models:/taxi-ride-duration/1' });
    expect(model.aliases.get('production')).toBe('1');
    expect(version.source).toBe(`${run.info.artifact_uri}/model`);
    expect(run.info.status).toBe('FINISHED');
    expect(Object.fromEntries(run.params)).toMatchObject({ seed: '7', feature_set: 'time', 'gbdt.maxRounds': '40' });
    expect(run.metrics.map((m) => m.key)).toEqual(expect.arrayContaining(['train_rmse', 'validation_rmse', 'validation_mae']));
    expect(run.tags.get('data.train.sha256')).toMatch(/^[0-9a-f]{64}$/);
    expect(run.tags.get('data.validation.sha256')).toMatch(/^[0-9a-f]{64}$/);
    for (const file of ['MLmodel', 'model.onnx', 'training.json']) expect(fake.readArtifact(`${version.source}/${file}`)).toBeDefined();

    const cache = await tempDir('train-mlflow-cache-');
    const svc = startMlflowService(fake, { MODEL_CACHE_DIR: cache.path });
    try {
      await svc.started;
      const predicted = await request(svc.app)
        .post('/predict')
        .send({ PULocationID: 3, DOLocationID: 9, trip_distance: 3.1, pickup_datetime: '2021-02-03T17:30:00' });
      expect(predicted).toMatchObject({ status: 200, body: { model_version: 'taxi-ride-duration/1', duration: expect.any(Number) } });
      expect((await request(svc.app).get('/model')).body).toMatchObject({ feature_set: 'time', alias: 'production' });
    } finally {
      await svc.close();
      await cache.remove();
    }
  });

  test('When the artifact upload fails, then the run is marked FAILED and no version is registered', async () => {
    // why two: the client retries a 500 once (see trainToFake).
    fake.failNext(2, { status: 500, body: 'disk full', contentType: 'text/plain' }, { method: 'PUT' });
    const versionsBefore = fake.model('taxi-ride-duration')?.versions.size ?? 0;

    const err = await trainToFake({ featureSet: 'base' }).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'RegistryError' });
    const runs = fake.requests
      .filter((r) => r.path.endsWith('/runs/update'))
      .map((r) => JSON.parse(r.body.toString()) as { status: string });
    expect(runs.at(-1)?.status).toBe('FAILED');
    expect(fake.model('taxi-ride-duration')?.versions.size ?? 0).toBe(versionsBefore);
  });
});
