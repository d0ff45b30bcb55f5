import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createModelCache } from '../../src/registry/model-cache.js';
import { parseModelUri, type RegistryModelUri } from '../../src/registry/model-uri.js';
import {
  MODEL,
  modelFiles,
  recordingLogger,
  registerMlflow2Version,
  registerMlflow3Version,
  startHarness,
  type Harness,
} from '../support/mlflow-harness.js';

let h: Harness;
let tick: number;
const clock = () => new Date(Date.UTC(2026, 10, 27, 3, 0, 0) + (tick += 1000));
beforeEach(async () => {
  h = await startHarness();
  tick = 0;
});
afterEach(async () => {
  await h.close();
});

const cacheDir = () => join(h.tmp, 'cache');
const newCache = (keep?: number) => createModelCache({ dir: cacheDir(), keep, now: clock, logger: recordingLogger() });
const u = (text: string) => parseModelUri(text) as RegistryModelUri;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const artifactGets = () => h.fake.requests.filter((r) => r.path.startsWith('/api/2.0/mlflow-artifacts/artifacts/')).length;

describe('load', () => {
  test('When a version is loaded, then <cache>/<name>/<version>/ holds the model and a manifest with every sha256', async () => {
    const files = modelFiles({ externalData: true });
    registerMlflow2Version(h.fake, files, { aliases: ['champion'] });

    const got = await newCache().load(u(`models:/${MODEL}@champion`), h.client);

    expect(got).toMatchObject({ name: MODEL, version: '1', fromCache: false, dir: join(cacheDir(), MODEL, '1', 'model') });
    expect(got.onnxFile).toBe(join(cacheDir(), MODEL, '1', 'model', 'model.onnx'));
    const manifest = JSON.parse(await readFile(join(cacheDir(), MODEL, '1', 'manifest.json'), 'utf8'));
    expect(manifest.files).toEqual(Object.fromEntries(Object.entries(files).map(([k, b]) => [k, { sha256: sha(b), size: b.length }])));
    expect(manifest.resolutions).toEqual([{ uri: `models:/${MODEL}@champion`, alias: 'champion', at: '2026-11-27T03:00:01.000Z' }]);
    expect(await readdir(join(cacheDir(), MODEL))).toEqual(['1']);
  });

  test('When the same version is loaded again, then nothing is downloaded and the resolution is recorded', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    const cache = newCache();
    await cache.load(u(`models:/${MODEL}@champion`), h.client);
    const downloads = artifactGets();

    const again = await cache.load(u(`models:/${MODEL}/1`), h.client);

    expect(again.fromCache).toBe(true);
    expect(artifactGets()).toBe(downloads);
    expect(again.manifest.resolutions.map((r) => r.uri)).toEqual([`models:/${MODEL}/1`, `models:/${MODEL}@champion`]);
  });

  test('When the cached copy is corrupt and the registry is up, then it is replaced by a fresh download', async () => {
    registerMlflow2Version(h.fake);
    const cache = newCache();
    const first = await cache.load(u(`models:/${MODEL}/1`), h.client);
    await appendFile(first.onnxFile, 'x');

    const again = await cache.load(u(`models:/${MODEL}/1`), h.client);

    expect(again.fromCache).toBe(false);
    expect(sha(await readFile(again.onnxFile))).toBe(again.manifest.files['model.onnx'].sha256);
  });

  test('When more than keep versions are loaded, then the least recently resolved are deleted', async () => {
    for (let i = 0; i < 4; i++) registerMlflow2Version(h.fake);
    const cache = newCache(2);

    for (const v of ['1', '2', '3', '4']) await cache.load(u(`models:/${MODEL}/${v}`), h.client);
    await cache.load(u(`models:/${MODEL}/3`), h.client);
    registerMlflow2Version(h.fake);
    await cache.load(u(`models:/${MODEL}/5`), h.client);

    expect((await readdir(join(cacheDir(), MODEL))).sort()).toEqual(['3', '5']);
  });

  test('When an MLflow 3 logged model is loaded by id, then it is cached under its model id', async () => {
    const { logged } = registerMlflow3Version(h.fake);

    const got = await newCache().load(u(`models:/${logged.model_id}`), h.client);

    expect(got.dir).toBe(join(cacheDir(), logged.model_id, logged.model_id, 'model'));
    expect(got.manifest.modelId).toBe(logged.model_id);
  });

  test('When the same version is loaded twice at once, then both get the same verified entry', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    const cache = newCache();

    const [a, b] = await Promise.all([cache.load(u(`models:/${MODEL}@champion`), h.client), cache.load(u(`models:/${MODEL}/1`), h.client)]);

    expect([a.version, b.version]).toEqual(['1', '1']);
    expect(a.dir).toBe(b.dir);
    expect(await readdir(join(cacheDir(), MODEL))).toEqual(['1']);
    expect(await cache.get(MODEL, '1')).toMatchObject({ version: '1' });
  });

  test('When a crashed download left a staging directory over an hour ago, then the next load removes it', async () => {
    registerMlflow2Version(h.fake);
    const old = join(cacheDir(), MODEL, '.staging-dead01');
    const fresh = join(cacheDir(), MODEL, '.staging-live01');
    await mkdir(join(old, 'model'), { recursive: true });
    await mkdir(fresh, { recursive: true });
    const now = clock();
    const twoHoursAgo = new Date(now.getTime() - 2 * 3600_000);
    await utimes(old, twoHoursAgo, twoHoursAgo);
    await utimes(fresh, now, now);

    await newCache().load(u(`models:/${MODEL}/1`), h.client);

    expect((await readdir(join(cacheDir(), MODEL))).sort()).toEqual(['.staging-live01', '1']);
  });

  test('When the download fails, then the cache holds no entry and no staging directory', async () => {
    registerMlflow2Version(h.fake);
    h.fake.failNext(10, { status: 503, body: 'down', contentType: 'text/plain' }, { path: /model\.onnx$/ });

    await expect(newCache().load(u(`models:/${MODEL}/1`), h.client)).rejects.toMatchObject({ code: 'unavailable' });

    expect(await readdir(join(cacheDir(), MODEL))).toEqual([]);
  });
});

describe('get and verification', () => {
  test('When a cached file was changed, then get refuses the entry, removes it and says which file', async () => {
    registerMlflow2Version(h.fake);
    const logger = recordingLogger();
    const cache = createModelCache({ dir: cacheDir(), logger, now: clock });
    const got = await cache.load(u(`models:/${MODEL}/1`), h.client);
    await writeFile(join(got.dir, 'MLmodel'), 'flavors: {}\n');

    await expect(cache.get(MODEL, '1')).rejects.toMatchObject({
      code: 'invalid_model',
      message: expect.stringMatching(
        /^cached model nyc-taxi-duration version 1 .* is corrupt \(file MLmodel: sha256 [0-9a-f]{64} does not match the manifest\); removed$/,
      ),
    });
    expect(await readdir(join(cacheDir(), MODEL))).toEqual([]);
    expect(logger.lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'model cache entry refused and removed' })]);
  });

  test.each([
    ['a file is missing', (dir: string) => rm(join(dir, 'model.onnx')), /file model\.onnx missing/],
    ['an extra file appeared', (dir: string) => writeFile(join(dir, 'evil.onnx'), 'x'), /unexpected file evil\.onnx/],
  ])('When %s, then the entry is refused', async (_what, damage, message) => {
    registerMlflow2Version(h.fake);
    const cache = newCache();
    const got = await cache.load(u(`models:/${MODEL}/1`), h.client);
    await damage(got.dir);

    await expect(cache.get(MODEL, '1')).rejects.toMatchObject({ code: 'invalid_model', message: expect.stringMatching(message) });
  });

  test('When the version was never cached, then get returns undefined', async () => {
    expect(await newCache().get(MODEL, '7')).toBeUndefined();
  });
});

describe('lastLoaded (what a restart falls back to)', () => {
  const champion = u(`models:/${MODEL}@champion`);
  /** Versions 1..3 resolved by @champion in turn; 1 and 2 loaded and warmed up, 3 (newest) never did. */
  async function championsWithABadNewest() {
    for (let i = 0; i < 3; i++) registerMlflow2Version(h.fake);
    const cache = newCache(5);
    for (const v of ['1', '2', '3']) {
      h.fake.setAlias(MODEL, 'champion', v);
      await cache.load(champion, h.client);
      if (v !== '3') await cache.recordLoad(champion, MODEL, v);
    }
    return cache;
  }

  test('When the newest resolution never loaded, then lastLoaded returns the version that loaded most recently, not the newest intact one', async () => {
    await championsWithABadNewest();
    await h.fake.down();

    const got = await newCache(5).lastLoaded(champion);

    expect(got).toMatchObject({ version: '2', fromCache: true });
    expect(got?.manifest.loads).toEqual([{ uri: champion.text, at: expect.any(String) }]);
  });

  test('When the version that loaded most recently is corrupt, then lastLoaded skips it for the one before', async () => {
    await championsWithABadNewest();
    await appendFile(join(cacheDir(), MODEL, '2', 'model', 'model.onnx'), 'bitrot');

    const got = await newCache(5).lastLoaded(champion);

    expect(got?.version).toBe('1');
    expect((await readdir(join(cacheDir(), MODEL))).sort()).toEqual(['1', '3']);
  });

  test('When nothing loaded for that URI, then lastLoaded returns undefined', async () => {
    await championsWithABadNewest();

    expect(await newCache().lastLoaded(u(`models:/${MODEL}@challenger`))).toBeUndefined();
    expect(await newCache().lastLoaded(u(`models:/${MODEL}/3`))).toBeUndefined();
    expect(await newCache().lastLoaded(u('models:/other-model@champion'))).toBeUndefined();
  });

  test('When keep is 1 and a new version is downloaded, then the version that loaded last is kept too', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    registerMlflow2Version(h.fake);
    const cache = newCache(1);
    await cache.load(champion, h.client);
    await cache.recordLoad(champion, MODEL, '1');

    h.fake.setAlias(MODEL, 'champion', '2');
    await cache.load(champion, h.client);

    expect((await readdir(join(cacheDir(), MODEL))).sort()).toEqual(['1', '2']);
    expect((await cache.lastLoaded(champion))?.version).toBe('1');
  });
});
