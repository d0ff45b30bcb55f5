import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { resolveAndDownload } from '../../src/mlflow/download.js';
import { ortTelemetryOffByDefault } from '../../src/model/ort-session.js';
import { externalDataModel } from '../support/onnx-external-data.js';
import { MODEL, modelFiles, registerMlflow3Version, startHarness, type Harness } from '../support/mlflow-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const DATA_FILE = '2f1c9d3e-0b7a-11f0-9c2e-0242ac120002.data';

async function run(onnxFile: string) {
  // as serving does before its first session: telemetry would leave files in the temp dir (docs/operations.md)
  ortTelemetryOffByDefault();
  const session = await ort.InferenceSession.create(onnxFile);
  try {
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 2, 2, 2]), [2, 3]) });
    return Array.from(out.y.data as Float32Array);
  } finally {
    await session.release();
  }
}

test('When the model keeps its weights in an external data file, then the downloaded directory loads in ONNX Runtime', async () => {
  const { model, data } = externalDataModel([0.5, 2, 4], DATA_FILE);
  const files = { ...modelFiles(), 'model.onnx': model, [DATA_FILE]: data };
  const { logged } = registerMlflow3Version(h.fake, files, { aliases: ['champion'] });

  const got = await resolveAndDownload(`models:/${MODEL}@champion`, h.client, join(h.tmp, 'model'));

  expect(got.resolved.modelId).toBe(logged.model_id);
  expect(await run(got.onnxFile)).toEqual([0.5, 2, 4, 1, 4, 8]);
});

test('When the external data file is missing beside model.onnx, then ONNX Runtime refuses the model', async () => {
  const { model, data } = externalDataModel([0.5, 2, 4], DATA_FILE);
  registerMlflow3Version(h.fake, { ...modelFiles(), 'model.onnx': model, [DATA_FILE]: data }, { aliases: ['champion'] });
  const got = await resolveAndDownload(`models:/${MODEL}@champion`, h.client, join(h.tmp, 'model'));

  await rm(join(got.dir, DATA_FILE));

  await expect(run(got.onnxFile)).rejects.toThrow(/external data/i);
});
