import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startFakeMlflow, type FakeMlflow } from '../support/mlflow-fake-server.js';
import { spawnServer, type LogLine, type SpawnedServer } from '../support/service-process.js';
import { EMBEDDED_V1, EMBEDDED_V2, NAME, readDir, registerModelDir, tempDir } from '../support/mlflow-service.js';

// A restart must not crash-loop on a version that never loaded while a good one sits in the cache
// (docs/registries.md, "Model sources and the cache"). Each service here is the real src/server.ts.

const TRIP = { PULocationID: 10, DOLocationID: 50, trip_distance: 4 };
const READY = 'model loaded and warmed up; ready';
const FALLBACK = 'cannot load the model MODEL_URI names; serving the newest version that loaded before, marked stale';
const REFUSED = /^new model version refused/;

const dirs: { path: string; remove: () => Promise<void> }[] = [];
const running: SpawnedServer[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await s.exited;
  }
  for (const d of dirs.splice(0)) await d.remove();
});
const temp = async (prefix: string) => {
  const d = await tempDir(prefix);
  dirs.push(d);
  return d.path;
};

interface Service {
  server: SpawnedServer;
  url: string;
  line(match: (l: LogLine) => boolean, what: string): Promise<LogLine>;
}

/** Starts src/server.ts and waits until it listens (not until it is ready: that is what the tests look at). */
async function start(env: Record<string, string>): Promise<Service> {
  const server = spawnServer({ MODEL_URI: `models:/${NAME}@production`, LOG_LEVEL: 'info', ...env });
  running.push(server);
  const listening = await server.waitForLine((l) => l.msg === 'listening', 'listening');
  return { server, url: `http://127.0.0.1:${listening.port as number}`, line: server.waitForLine };
}
const ready = (s: Service) => s.line((l) => l.msg === READY, 'ready');
const json = async (url: string) => (await fetch(url)).json() as Promise<Record<string, unknown>>;
const predictedVersion = async (s: Service) =>
  (
    (await (
      await fetch(`${s.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(TRIP) })
    ).json()) as { model_version: string }
  ).model_version;
const stop = async (s: Service) => {
  s.server.child.kill('SIGTERM');
  return s.server.exited;
};

describe('MLflow registry: the alias moves to a version that cannot load', () => {
  let fake: FakeMlflow;
  let cache: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    fake = await startFakeMlflow({ major: 2 });
    cache = await temp('bad-version-cache-');
    env = {
      REGISTRY_URI: fake.url,
      MODEL_CACHE_DIR: cache,
      MODEL_POLL_INTERVAL_S: '0.05',
      SHUTDOWN_DRAIN_MS: '0',
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
      MLFLOW_HTTP_REQUEST_TIMEOUT: '5',
    };
  });
  afterEach(async () => {
    await fake.close();
  });

  /** Versions 1 and 2 good, production on 2 and served; then production moves to 3 (corrupt model.onnx), which the running service refuses. */
  async function refuseCorruptVersion3(): Promise<void> {
    await registerModelDir(fake, EMBEDDED_V1);
    await registerModelDir(fake, EMBEDDED_V2, ['production']);
    const first = await start(env);
    await ready(first);
    const corrupt = await registerModelDir(fake, {
      ...(await readDir(EMBEDDED_V2)),
      'model.onnx': Buffer.from('this is not an onnx model'),
    });
    fake.setAlias(NAME, 'production', corrupt);
    await first.line((l) => REFUSED.test(l.msg), 'the refusal of version 3');
    expect(await predictedVersion(first)).toBe(`${NAME}/2`);
    expect(await stop(first)).toBe(0);
  }

  test('When it restarts while the registry is down, then it serves the good cached version 2 as stale, and the next good version replaces it', async () => {
    await refuseCorruptVersion3();
    await fake.down();

    const svc = await start(env);
    const served = await ready(svc);
    const model = await json(`${svc.url}/model`);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    await fake.up();
    await svc.line((l) => REFUSED.test(l.msg), 'the refusal of version 3 once the registry is back');
    const stillStale = await json(`${svc.url}/model`);
    fake.setAlias(NAME, 'production', '1');
    const swapped = await svc.line((l) => l.msg === 'model swapped', 'the swap to version 1');

    expect(svc.server.logs).toContainEqual(expect.objectContaining({ level: 40, msg: FALLBACK, model_version: `${NAME}/2` }));
    expect(served).toMatchObject({
      level: 40,
      model_version: `${NAME}/2`,
      stale: true,
      stale_reason: expect.stringMatching(/registry cannot be reached/),
    });
    expect(model).toMatchObject({
      version: '2',
      stale: true,
      stale_reason: expect.stringMatching(/^the model registry cannot be reached .*ECONNREFUSED.*serving taxi-ride-duration\/2/),
    });
    expect(metrics).toContain(`model_info{name="${NAME}",version="2",alias="production",stale="true"} 1`);
    expect(stillStale).toMatchObject({ version: '2', stale: true });
    expect(swapped).toMatchObject({ model_version: `${NAME}/1`, previous_model_version: `${NAME}/2`, stale: false });
    expect(await json(`${svc.url}/model`)).toMatchObject({ version: '1', stale: false, stale_reason: null });
  });

  test('When it restarts with the registry up and the alias still on version 3, then it serves version 2 as stale and says version 3 cannot load', async () => {
    await refuseCorruptVersion3();

    const svc = await start(env);
    await ready(svc);
    const model = await json(`${svc.url}/model`);

    expect(model).toMatchObject({
      version: '2',
      stale: true,
      stale_reason: expect.stringMatching(/^taxi-ride-duration\/3 cannot be loaded \(cannot load .*model\.onnx/),
    });
    expect(await predictedVersion(svc)).toBe(`${NAME}/2`);
    expect(await (await fetch(`${svc.url}/readyz`)).json()).toMatchObject({ status: 'ready' });
  });

  test('When no version ever loaded from this cache, then a start on version 3 exits 1 with one fatal line', async () => {
    await registerModelDir(fake, { ...(await readDir(EMBEDDED_V2)), 'model.onnx': Buffer.from('this is not an onnx model') }, [
      'production',
    ]);

    const svc = await start(env);
    const code = await svc.server.exited;

    expect(code).toBe(1);
    expect(svc.server.logs.filter((l) => (l.level as number) >= 50)).toEqual([
      expect.objectContaining({ level: 60, msg: expect.stringMatching(/^cannot load the model: cannot load .*model\.onnx/) }),
    ]);
  });
});

describe('file registry: the alias moves to a version that cannot load', () => {
  /** A registry with versions 1, 2 (good) and 3 (corrupt model.onnx), production on 2; a service has served 2. */
  async function registryThatServed2(): Promise<{ registry: string; env: Record<string, string> }> {
    const registry = await temp('bad-version-registry-');
    const model = join(registry, NAME);
    await cp(EMBEDDED_V1, join(model, '1'), { recursive: true });
    await cp(EMBEDDED_V2, join(model, '2'), { recursive: true });
    await cp(EMBEDDED_V2, join(model, '3'), { recursive: true });
    await writeFile(join(model, '3', 'model.onnx'), 'this is not an onnx model');
    await writeFile(join(model, 'aliases.json'), '{"production": "2"}\n');
    const env = {
      REGISTRY_URI: `file:${registry}`,
      MODEL_CACHE_DIR: await temp('bad-version-cache-'),
      MODEL_POLL_INTERVAL_S: '0.05',
      SHUTDOWN_DRAIN_MS: '0',
    };
    const first = await start(env);
    await ready(first);
    expect(await stop(first)).toBe(0);
    await writeFile(join(model, 'aliases.json'), '{"production": "3"}\n');
    return { registry, env };
  }

  test('When it restarts with the alias on version 3, then it serves version 2 as stale and swaps once the alias moves to a good version', async () => {
    const { registry, env } = await registryThatServed2();

    const svc = await start(env);
    await ready(svc);
    const model = await json(`${svc.url}/model`);
    await writeFile(join(registry, NAME, 'aliases.json'), '{"production": "1"}\n');
    const swapped = await svc.line((l) => l.msg === 'model swapped', 'the swap to version 1');

    expect(model).toMatchObject({
      version: '2',
      stale: true,
      stale_reason: expect.stringMatching(/^taxi-ride-duration\/3 cannot be loaded/),
    });
    expect(swapped).toMatchObject({ model_version: `${NAME}/1`, stale: false });
  });

  test('When it restarts while the alias cannot be read, then it serves version 2 as stale', async () => {
    const { registry, env } = await registryThatServed2();
    await writeFile(join(registry, NAME, 'aliases.json'), '{not json');

    const svc = await start(env);
    await ready(svc);

    expect(await json(`${svc.url}/model`)).toMatchObject({
      version: '2',
      stale: true,
      stale_reason: expect.stringMatching(/cannot read .*aliases\.json/),
    });
  });
});
