import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestListener } from 'node:http';
import type { Lifecycle } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createService } from '../../src/create-service.js';
import type { ModelUpdater } from '../../src/model/model-updater.js';
import type { Predictor } from '../../src/model/predictor.js';
import type { Metrics } from '../../src/observability/metrics.js';
import type { FakeMlflow } from './mlflow-fake-server.js';
import { REPO_ROOT, capturingLogger, type LogLine } from './app.js';

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
  predictor: Predictor;
  metrics: Metrics;
  lifecycle: Lifecycle;
  updater: ModelUpdater;
  logs: LogLine[];
  /** The service's start(), already called (the port opens once the model serves, or at listen()). */
  started: Promise<void>;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The service as production composes it (createService), against a fake MLflow; no retries inside the client, fast start-up retries. */
export function startMlflowService(fake: FakeMlflow, env: Record<string, string> = {}): MlflowService {
  const config = loadConfig({
    REGISTRY_URI: fake.url,
    MODEL_URI: `models:/${NAME}@production`,
    MODEL_POLL_INTERVAL_S: '0',
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
    MLFLOW_HTTP_REQUEST_TIMEOUT: '5',
    LOG_LEVEL: 'debug',
    HOST: '127.0.0.1',
    PORT: '0',
    SHUTDOWN_DRAIN_MS: '0',
    ...env,
  });
  const { logger, logs } = capturingLogger(config.LOG_LEVEL);
  const service = createService(config, logger, { cwd: REPO_ROOT, retryMs: { initial: 50, max: 200 } });
  const started = service.start({ listen: 'after-load' }).then(() => undefined);
  started.catch(() => undefined);
  const { listener: app, predictor, metrics, lifecycle, updater } = service;
  return {
    app,
    config,
    predictor,
    metrics,
    lifecycle,
    updater,
    logs,
    started,
    async listen() {
      const { port } = await service.listen();
      return `http://127.0.0.1:${port}`;
    },
    async close() {
      await service.stop('test');
    },
  };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
