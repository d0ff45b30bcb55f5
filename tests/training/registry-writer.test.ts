import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { parseRegistryUri, publishModel, type PublishRequest } from '../../src/training/registry-writer.js';

let root: string;
const onnx = new Uint8Array([8, 8, 1, 2, 3]);
const request = (overrides: Partial<PublishRequest> = {}): PublishRequest => ({
  root,
  name: 'taxi-ride-duration',
  featureSet: 'time',
  onnx,
  trainingRecord: { seed: 42 },
  ...overrides,
});

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'registry-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('file registry writer', () => {
  test('When a model is published, then its version directory is an MLflow onnx Model directory', async () => {
    const created = new Date(Date.UTC(2026, 10, 27, 2, 30, 5, 123));

    const result = await publishModel(request({ createdAt: created, modelUuid: 'a'.repeat(32) }));

    expect(result.version).toBe('1');
    expect(readdirSync(result.dir).sort()).toEqual(['MLmodel', 'model.onnx', 'training.json']);
    expect(new Uint8Array(readFileSync(join(result.dir, 'model.onnx')))).toEqual(onnx);
    expect(JSON.parse(readFileSync(join(result.dir, 'training.json'), 'utf8'))).toEqual({ seed: 42 });
    const mlmodel = parse(readFileSync(join(result.dir, 'MLmodel'), 'utf8'), { version: '1.1' });
    expect(mlmodel).toMatchObject({
      artifact_path: 'model',
      flavors: { onnx: { data: 'model.onnx', onnx_version: '1.12.0', providers: ['CPUExecutionProvider'] } },
      model_uuid: 'a'.repeat(32),
      model_size_bytes: 5,
      utc_time_created: '2026-11-27 02:30:05.123000',
    });
    expect(JSON.parse(mlmodel.signature.inputs).map((s: { name: string }) => s.name)).toEqual([
      'PULocationID',
      'DOLocationID',
      'trip_distance',
      'pickup_hour',
      'pickup_dow',
    ]);
    expect(JSON.parse(mlmodel.signature.inputs)[2]).toEqual({
      type: 'tensor',
      'tensor-spec': { dtype: 'float32', shape: [-1] },
      name: 'trip_distance',
    });
    expect(JSON.parse(mlmodel.signature.outputs)).toEqual([
      { type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1] }, name: 'duration' },
    ]);
  });

  test('When versions exist, then the next one is max + 1 and aliases move only when asked, keeping the others', async () => {
    mkdirSync(join(root, 'taxi-ride-duration', '7'), { recursive: true });
    writeFileSync(join(root, 'taxi-ride-duration', '7', 'MLmodel'), 'x');
    mkdirSync(join(root, 'taxi-ride-duration', 'notes'));
    writeFileSync(join(root, 'taxi-ride-duration', 'aliases.json'), JSON.stringify({ staging: '7' }));

    const eighth = await publishModel(request({ alias: 'production' }));
    const ninth = await publishModel(request());

    expect([eighth.version, ninth.version]).toEqual(['8', '9']);
    expect(JSON.parse(readFileSync(join(root, 'taxi-ride-duration', 'aliases.json'), 'utf8'))).toEqual({ production: '8', staging: '7' });
    expect(readFileSync(join(root, 'taxi-ride-duration', '7', 'MLmodel'), 'utf8')).toBe('x');
  });

  test('When writing fails part way, then no version, alias or staging directory is left behind', async () => {
    await publishModel(request({ alias: 'production' }));
    const before = readdirSync(join(root, 'taxi-ride-duration')).sort();

    const failing = publishModel(request({ alias: 'production', trainingRecord: { notJson: 1n } }));

    await expect(failing).rejects.toThrow();
    expect(readdirSync(join(root, 'taxi-ride-duration')).sort()).toEqual(before);
    expect(JSON.parse(readFileSync(join(root, 'taxi-ride-duration', 'aliases.json'), 'utf8'))).toEqual({ production: '1' });
  });

  test('When the registry URI is not file:, then it is refused with a clear message', () => {
    expect(parseRegistryUri('file:models')).toMatch(/\/models$/);
    expect(parseRegistryUri('file:///tmp/reg')).toBe('/tmp/reg');
    expect(() => parseRegistryUri('http://mlflow:5000')).toThrow(/unsupported registry http:\/\/mlflow:5000/);
  });
});
