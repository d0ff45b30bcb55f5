import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openOrtSession, type OrtSession } from '../../src/model/ort-session.js';
import { REPO_ROOT } from '../support/app.js';

// The native session is onnxruntime-node's internal binding (src/model/ort-session.ts): these tests pin
// that it loads, describes and answers exactly as the package's public InferenceSession does.
const MODEL = path.join(REPO_ROOT, 'models/taxi-ride-duration/4/model.onnx');
const OPTIONS: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 };

function feeds(n: number, seed: number): Record<string, ort.Tensor> {
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0), x / 2 ** 32);
  // why: ids past the zone table (0, 266, huge, negative) take the graph's clipping branch.
  const ids = [0n, 1n, 265n, 266n, -5n, 2n ** 40n];
  const id = (i: number) => (i < ids.length ? ids[i] : BigInt(1 + Math.floor(next() * 265)));
  return {
    PULocationID: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => id(i)),
      [n],
    ),
    DOLocationID: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => id(n - 1 - i)),
      [n],
    ),
    trip_distance: new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, () => next() * 60),
      [n],
    ),
    pickup_hour: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * 24))),
      [n],
    ),
    pickup_dow: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * 7))),
      [n],
    ),
  };
}

describe('the native onnxruntime session', () => {
  let native: OrtSession;
  let reference: ort.InferenceSession;
  beforeAll(async () => {
    native = openOrtSession(MODEL, OPTIONS);
    reference = await ort.InferenceSession.create(MODEL, OPTIONS);
  });
  afterAll(async () => {
    native.release();
    await reference.release();
  });

  test('When a model loads, then its inputs and outputs are described as the public API describes them', () => {
    const view = (m: readonly { name: string; isTensor: boolean; type?: string }[]) =>
      m.map((v) => `${v.name}:${v.isTensor ? v.type : '-'}`);
    expect(view(native.inputMetadata)).toEqual(view(reference.inputMetadata as never));
    expect(view(native.outputMetadata)).toEqual(view(reference.outputMetadata as never));
  });

  test.each([1, 7, 1000])('When %i trips run, then every output equals the public API’s, bit for bit', async (n) => {
    const input = feeds(n, n);
    const expected = await reference.run(input);
    const got = native.runSync(input, { duration: null, duration_p10: null, duration_p90: null });
    for (const name of ['duration', 'duration_p10', 'duration_p90']) {
      expect(got[name]).toBeInstanceOf(ort.Tensor);
      expect(got[name].dims).toEqual([n]);
      expect(Array.from(got[name].data as Float32Array)).toEqual(Array.from(expected[name].data as Float32Array));
    }
  });

  test('When a feed has the wrong type, then runSync throws instead of answering', () => {
    const input = { ...feeds(1, 3), trip_distance: new ort.Tensor('int64', new BigInt64Array(1), [1]) };
    expect(() => native.runSync(input, { duration: null })).toThrow(/type/i);
  });

  test('When the file is not a model, then opening it throws', () => {
    expect(() => openOrtSession(path.join(REPO_ROOT, 'package.json'), OPTIONS)).toThrow();
  });
});
