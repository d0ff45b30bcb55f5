import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestListener } from 'node:http';
import { createApp, type Lifecycle } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { ModelSlot } from '../../src/model/model-slot.js';
import { createModelUpdater, type ModelUpdater } from '../../src/model/model-updater.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { createModelSource } from '../../src/registry/create-source.js';
import type { FakeMlflow } from '../fixtures/mlflow-fake-server.js';
import { REPO_ROOT, type LogLine } from '../service/helpers.js';

export const NAME = 'taxi-ride-duration';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const EMBEDDED_V1 = join(REPO_ROOT, 'models', NAME, '1');
export const EMBEDDED_V2 = join(REPO_ROOT, 'models', NAME, '2');
export const FIXTURE_BROKEN = join(REPO_ROOT, 'tests', 'fixtures', 'registry', NAME, '3');

export async function readDir(dir: string): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const f of await readdir(dir)) files[f] = await readFile(join(dir, f));
  return files;
}

/** Logs the model directory under a new run (MLflow 2 style) and registers it as the next version. */
export async function registerModelDir(fake: FakeMlflow, files: Record<string, Buffer> | string, aliases: string[] = []): Promise<string> {
  const run = fake.createRun();
  const dir = `${run.artifact_uri}/model`;
  fake.putArtifacts(dir, typeof files === 'string' ? await readDir(files) : files);
  return fake.createVersion({ name: NAME, source: dir, runId: run.run_id, aliases }).version;
}

export interface MlflowService {
  app: RequestListener;
  config: Config;
  slot: ModelSlot;
  metrics: Metrics;
  lifecycle: Lifecycle;
  updater: ModelUpdater;
  logs: LogLine[];
  /** updater.start(), already called. */
  started: Promise<void>;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The service as server.ts composes it, against a fake MLflow; no retries inside the client, fast start-up retries. */
export function startMlflowService(fake: FakeMlflow, env: Record<string, string> = {}): MlflowService {
  const config = loadConfig({
    REGISTRY_URI: fake.url,
    MODEL_URI: `models:/${NAME}@production`,
    MODEL_POLL_INTERVAL_S: '0',
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
    MLFLOW_HTTP_REQUEST_TIMEOUT: '5',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: LogLine[] = [];
  const logger = createLogger({ level: config.LOG_LEVEL, destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  const slot = new ModelSlot();
  const lifecycle: Lifecycle = { draining: false };
  const uri = config.MODEL_URI;
  const source = createModelSource(config, { cwd: REPO_ROOT, logger });
  const updater = createModelUpdater({
    source, uri, slot, metrics, logger, lifecycle, pollIntervalMs: config.MODEL_POLL_INTERVAL_S * 1000, retryMs: { initial: 50, max: 200 },
  });
  const app = createApp({ config, logger, metrics, slot, lifecycle, updater });
  const started = updater.start();
  started.catch(() => undefined);
  let server: Server | undefined;
  return {
    app, config, slot, metrics, lifecycle, updater, logs, started,
    async listen() {
      server = createServer(app);
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      updater.stop();
      if (server) await new Promise((r) => { server!.close(r); server!.closeAllConnections(); });
      await slot.close();
    },
  };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
