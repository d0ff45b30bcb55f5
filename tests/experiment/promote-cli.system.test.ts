import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT, main } from '../../src/experiment/promote-cli.js';
import { startFakeMlflow, type FakeMlflow } from '../support/mlflow-fake-server.js';
import { registerModelDir } from '../support/mlflow-service.js';
import { REPO_ROOT } from '../support/app.js';
import { copyRegistry, embedded, fixture, NAME, requireData } from './support.js';

async function promote(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await main(args, { env, cwd: REPO_ROOT, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const data = () => ['--data', requireData()];
// why 200 resamples: enough for these clear-cut differences; the CLI's default (1000) is for decisions.
const fast = ['--bootstrap', '200'];

describe('npm run promote against a fixture registry', () => {
  let registry: { root: string; modelDir: string };
  const aliases = () => readFile(join(registry.modelDir, 'aliases.json'), 'utf8');

  beforeAll(async () => {
    registry = await copyRegistry({ '1': embedded('1'), '3': embedded('3'), '7': fixture('3') }, { production: '3', staging: '1' });
  });
  afterAll(async () => {
    await rm(registry.root, { recursive: true, force: true });
  });

  test('When version 1 challenges version 3 in production, then it is not better: exit 3, a table, and the alias stays', async () => {
    const before = await aliases();

    const r = await promote(['--challenger', `models:/${NAME}/1`, ...data(), '--registry', `file:${registry.root}`, '--apply', ...fast]);

    expect(r.code).toBe(EXIT.notBetter);
    expect(r.out).toMatch(/challenger taxi-ride-duration\/1 vs champion taxi-ride-duration\/3 on 61920 trips/);
    for (const segment of ['all', 'pairs seen in training', 'pairs unseen in training', 'short', 'medium', 'long'])
      expect(r.out).toContain(segment);
    expect(r.out).toMatch(/ok {3}parity {5}green_tripdata_2021-02\.parquet \(validation/);
    expect(r.out).toMatch(
      /RMSE difference \(challenger − champion\): \+0\.4\d+ min, 95 % paired bootstrap interval \[\+0\.\d+, \+0\.\d+\]/,
    );
    expect(await aliases()).toBe(before);
  });

  test('When version 3 challenges version 1 with --apply, then exit 0 and production moves to 3 (other aliases kept), reproducibly', async () => {
    await writeFile(join(registry.modelDir, 'aliases.json'), '{\n  "production": "1",\n  "staging": "1"\n}\n');

    const dry = await promote([
      '--challenger',
      `models:/${NAME}@staging`,
      '--champion',
      `models:/${NAME}/1`,
      ...data(),
      '--registry',
      `file:${registry.root}`,
      ...fast,
    ]);
    const applied = await promote([
      '--challenger',
      `models:/${NAME}/3`,
      ...data(),
      '--registry',
      `file:${registry.root}`,
      '--apply',
      ...fast,
    ]);

    expect(dry.code).toBe(EXIT.notBetter);
    expect(applied.code).toBe(EXIT.better);
    expect(applied.out).toMatch(/moved taxi-ride-duration@production from 1 to version 3/);
    expect(JSON.parse(await aliases())).toEqual({ production: '3', staging: '1' });
    const again = await promote([
      '--challenger',
      `models:/${NAME}/3`,
      '--champion',
      `models:/${NAME}/1`,
      ...data(),
      '--registry',
      `file:${registry.root}`,
      ...fast,
    ]);
    const interval = (text: string) => /interval (\[[^\]]+\])/.exec(text)?.[1];
    expect(interval(again.out)).toBe(interval(applied.out));
  });

  test("When the challenger's ONNX graph breaks the contract, then it is refused (exit 4) and nothing moves", async () => {
    const before = await aliases();

    const r = await promote(['--challenger', `models:/${NAME}/7`, ...data(), '--registry', `file:${registry.root}`, '--apply', ...fast]);

    expect(r.code).toBe(EXIT.refused);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^refused: challenger models:\/taxi-ride-duration\/7 refused: /);
    expect(await aliases()).toBe(before);
  });

  test("When the challenger's model.onnx is not the one its training record describes, then it is refused", async () => {
    const { root, modelDir } = await copyRegistry({ '1': embedded('1'), '3': embedded('3') }, { production: '1' });
    const record = JSON.parse(await readFile(join(modelDir, '3', 'training.json'), 'utf8'));
    record.model_onnx.sha256 = '0'.repeat(64);
    await writeFile(join(modelDir, '3', 'training.json'), JSON.stringify(record));

    const r = await promote(['--challenger', `models:/${NAME}/3`, ...data(), '--registry', `file:${root}`, '--apply', ...fast]);

    expect(r.code).toBe(EXIT.refused);
    expect(r.err).toMatch(/artifact: model\.onnx sha256 [0-9a-f]{64} ≠ training record 0{64}/);
    expect(JSON.parse(await readFile(join(modelDir, 'aliases.json'), 'utf8'))).toEqual({ production: '1' });
    await rm(root, { recursive: true, force: true });
  });

  test.each([
    [['--data', 'x.parquet'], EXIT.usage, /^error: --challenger and --data are required/],
    [['--challenger', 'nonsense:/x', '--data', 'x.parquet'], EXIT.usage, /^error: --challenger nonsense:\/x: /],
    [
      ['--challenger', `models:/${NAME}/1`, '--data', 'x.parquet', '--bootstrap', '5'],
      EXIT.usage,
      /--bootstrap 5: expected a whole number from 100/,
    ],
    [
      ['--challenger', `models:/${NAME}/1`, '--data', '/nonexistent/trips.parquet'],
      EXIT.error,
      /^error: cannot read \/nonexistent\/trips\.parquet: no such file/,
    ],
  ])('When the arguments are %j, then one clear error line and exit %i', async (args, code, message) => {
    const r = await promote(args);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('npm run promote against MLflow', () => {
  let fake: FakeMlflow;
  beforeAll(async () => {
    fake = await startFakeMlflow({ major: 2 });
  });
  afterAll(async () => {
    await fake.close();
  });

  test('When version 3 beats production in an MLflow registry with --apply, then the alias is set through the REST API', async () => {
    const v1 = await registerModelDir(fake, embedded('1'), ['production']);
    const v3 = await registerModelDir(fake, embedded('3'));
    const env = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0', MODEL_CACHE_DIR: await mkdtemp(join(tmpdir(), 'promote-cache-')) };

    const worse = await promote(
      [
        '--challenger',
        `models:/${NAME}/${v1}`,
        '--champion',
        `models:/${NAME}/${v3}`,
        ...data(),
        '--registry',
        fake.url,
        '--apply',
        ...fast,
      ],
      env,
    );
    const better = await promote(['--challenger', `models:/${NAME}/${v3}`, ...data(), '--registry', fake.url, '--apply', ...fast], env);

    expect(worse.code).toBe(EXIT.notBetter);
    expect(better.code).toBe(EXIT.better);
    expect(fake.model(NAME)?.aliases.get('production')).toBe(v3);
    const sets = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/registered-models/alias'));
    expect(sets.map((r) => JSON.parse(r.body.toString()))).toEqual([{ name: NAME, alias: 'production', version: v3 }]);
    await rm(env.MODEL_CACHE_DIR, { recursive: true, force: true });
  });
});
