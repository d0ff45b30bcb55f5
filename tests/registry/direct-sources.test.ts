import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { loadModel } from '../../src/model/load-model.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createPathSource, createUrlSource } from '../../src/registry/direct-sources.js';
import { parseModelUri } from '../../src/registry/model-uri.js';
import { REPO_ROOT } from '../support/app.js';
import { EMBEDDED_V1, tempDir } from '../support/mlflow-service.js';

let server: Server;
let base: string;
let cache: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  cache = await tempDir('direct-sources-');
  server = createServer((req, res) => {
    const file = /^\/v1\/(MLmodel|model\.onnx|training\.json)$/.exec(req.url ?? '')?.[1];
    if (file) return void res.end(readFileSync(join(EMBEDDED_V1, file)));
    if (req.url === '/bare/model.onnx') return void res.end(readFileSync(join(EMBEDDED_V1, 'model.onnx')));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await cache.remove();
});

describe('model URIs without a registry', () => {
  test('When MODEL_URI is a file: model directory, then it loads in place with a content hash as its version', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });

    const model = await loadModel(createPathSource(REPO_ROOT), parseModelUri('file:models/taxi-ride-duration/1'), metrics);

    expect(model.info).toMatchObject({ name: '1', version: expect.stringMatching(/^[0-9a-f]{12}$/), featureSet: 'base' });
    await model.release();
  });

  test.each([
    ['a model directory', '/v1'],
    ['a bare .onnx file', '/bare/model.onnx'],
  ])('When MODEL_URI is an http URL of %s, then it is downloaded into the cache and loads', async (_what, path) => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });

    const model = await loadModel(createUrlSource(cache.path), parseModelUri(`${base}${path}`), metrics);

    expect(model.info).toMatchObject({ version: expect.stringMatching(/^[0-9a-f]{12}$/), featureSet: 'base' });
    await model.release();
  });

  test('When the URL answers 404, then the load fails with reason resolve', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });

    await expect(loadModel(createUrlSource(cache.path), parseModelUri(`${base}/missing/`), metrics)).rejects.toThrow(/HTTP 404/);
    expect(await metrics.registry.getSingleMetricAsString('model_load_failures_total')).toContain('reason="resolve"} 1');
  });
});

describe('registry configuration', () => {
  test('When only MLFLOW_TRACKING_URI is set, then it is the registry and MLflow variables are read', () => {
    const config = loadConfig({
      MLFLOW_TRACKING_URI: 'https://mlflow.example.com',
      MLFLOW_TRACKING_TOKEN: 't',
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2',
    });

    expect(config.REGISTRY_URI).toBe('https://mlflow.example.com');
    expect(config.MLFLOW).toMatchObject({ trackingUri: 'https://mlflow.example.com', token: 't', maxRetries: 2 });
  });

  test('When a stage URI is used with the file registry, then start-up refuses it', () => {
    expect(() => loadConfig({ MODEL_URI: 'models:/taxi-ride-duration/Production' })).toThrow(
      /file registry .* answers models:\/<name>@<alias> and models:\/<name>\/<version> only/,
    );
  });

  test('When an MLflow variable is malformed, then start-up names it', () => {
    expect(() => loadConfig({ REGISTRY_URI: 'http://mlflow:5000', MLFLOW_HTTP_REQUEST_MAX_RETRIES: 'many' })).toThrow(
      'invalid configuration: MLFLOW_HTTP_REQUEST_MAX_RETRIES="many": expected an integer from 0 to 10',
    );
  });
});
