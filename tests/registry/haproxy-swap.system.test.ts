import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { startFakeMlflow, type FakeMlflow } from '../support/mlflow-fake-server.js';
import { startHaproxy, type HaproxyHandle } from '../support/haproxy.js';
import { waitFor } from '../support/ports.js';
import { spawnServer } from '../support/service-process.js';
import { findSystemTool } from '../support/system-tools.js';
import { ADMIN_TOKEN, EMBEDDED_V1, EMBEDDED_V2, NAME, registerModelDir, tempDir } from '../support/mlflow-service.js';

const haproxyBin = findSystemTool('haproxy');
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Instance {
  child: ChildProcessWithoutNullStreams;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function startInstance(fake: FakeMlflow, env: Record<string, string>): Instance {
  const { child, logs, stderr, exited } = spawnServer({
    REGISTRY_URI: fake.url,
    MODEL_URI: `models:/${NAME}@production`,
    MODEL_POLL_INTERVAL_S: '0',
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
    SHUTDOWN_DRAIN_MS: '0',
    ...env,
  });
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, logs, stderr, exited };
}

const logged = (instance: Instance, msg: string) =>
  waitFor(
    async () => {
      if (instance.child.exitCode !== null) throw new Error(`exited ${instance.child.exitCode}: ${instance.stderr()}`);
      return instance.logs.find((l) => l.msg === msg);
    },
    msg,
    30_000,
  );

async function fakeWithTwoVersions(): Promise<{ fake: FakeMlflow; v2: string }> {
  const fake = await startFakeMlflow({ major: 3 });
  cleanups.push(() => fake.close());
  await registerModelDir(fake, EMBEDDED_V1, ['production']);
  return { fake, v2: await registerModelDir(fake, EMBEDDED_V2) };
}

async function cacheDir(): Promise<string> {
  const dir = await tempDir('haproxy-cache-');
  cleanups.push(dir.remove);
  return dir.path;
}

describe('model swap behind HAProxy', () => {
  test.skipIf(!haproxyBin)(
    'When one of two instances swaps its model (alias flip + admin reload) under steady load, then no request fails',
    async () => {
      const { fake, v2 } = await fakeWithTwoVersions();
      const a = startInstance(fake, { ADMIN_TOKEN, MODEL_CACHE_DIR: await cacheDir() });
      const b = startInstance(fake, { ADMIN_TOKEN, MODEL_CACHE_DIR: await cacheDir() });
      const [portA, portB] = await Promise.all([a, b].map(async (i) => Number((await logged(i, 'listening')).port)));
      await Promise.all([logged(a, 'model loaded and warmed up; ready'), logged(b, 'model loaded and warmed up; ready')]);
      const haproxy: HaproxyHandle = await startHaproxy(haproxyBin!, [portA, portB]);
      cleanups.push(() => haproxy.stop());
      await waitFor(async () => {
        const states = await haproxy.serverStates();
        return states.s1 === 'UP' && states.s2 === 'UP' ? true : undefined;
      }, 'both backends UP');

      const results: { status: number; version: string | undefined }[] = [];
      let running = true;
      const client = async () => {
        while (running) {
          try {
            const res = await fetch(`http://127.0.0.1:${haproxy.port}/predict`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: '{"PULocationID":10,"DOLocationID":50,"trip_distance":4}',
            });
            results.push({ status: res.status, version: ((await res.json()) as { model_version?: string }).model_version });
          } catch {
            results.push({ status: 0, version: undefined });
          }
        }
      };
      const clients = Array.from({ length: 6 }, client);
      await new Promise((r) => setTimeout(r, 500));
      fake.setAlias(NAME, 'production', v2);
      const reload = await fetch(`http://127.0.0.1:${portA}/admin/reload`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const reloadBody = await reload.json();
      await new Promise((r) => setTimeout(r, 700));
      running = false;
      await Promise.all(clients);
      const modelA = (await (await fetch(`http://127.0.0.1:${portA}/model`)).json()) as { version: string };
      const modelB = (await (await fetch(`http://127.0.0.1:${portB}/model`)).json()) as { version: string };

      const counts = {
        total: results.length,
        v1: results.filter((r) => r.version === `${NAME}/1`).length,
        v2: results.filter((r) => r.version === `${NAME}/2`).length,
      };
      console.log(`behind HAProxy: ${JSON.stringify(counts)}, failed ${results.filter((r) => r.status !== 200).length}`);
      expect(reload.status).toBe(200);
      expect(reloadBody).toMatchObject({ status: 'swapped', model_version: `${NAME}/2`, previous_model_version: `${NAME}/1` });
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      expect(counts.v1 + counts.v2).toBe(counts.total);
      expect(counts.v2).toBeGreaterThan(0);
      expect([modelA.version, modelB.version]).toEqual([v2, '1']);
    },
    90_000,
  );

  test('When the alias does not exist, then the process exits 1 with a log line naming the alias', async () => {
    const { fake } = await fakeWithTwoVersions();
    const instance = startInstance(fake, { MODEL_URI: `models:/${NAME}@missing`, MODEL_CACHE_DIR: await cacheDir() });

    const code = await instance.exited;

    expect(code).toBe(1);
    expect(instance.logs).toContainEqual(
      expect.objectContaining({
        level: 60,
        msg: `cannot load the model: alias "missing" of registered model "${NAME}" not found: the alias is not set or the model does not exist`,
      }),
    );
  }, 60_000);
});
