import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMlflowClient, type MlflowClientOptions } from '../../src/mlflow/client.js';
import { startFakeMlflow, type FakeMlflow, type FakeMlflowOptions } from './mlflow-fake-server.js';

export const MODEL = 'nyc-taxi-duration';

/** An MLmodel file as mlflow.onnx.save_model writes it (docs/mlflow-rest-contract.md, "The MLmodel file"), keys sorted. */
export function onnxMlmodel(overrides: { modelId?: string; runId?: string; data?: string } = {}): string {
  return [
    `artifact_path: ${overrides.modelId ? `mlflow-artifacts:/1/models/${overrides.modelId}/artifacts` : 'model'}`,
    'flavors:',
    '  onnx:',
    '    code: null',
    `    data: ${overrides.data ?? 'model.onnx'}`,
    '    onnx_session_options: null',
    '    onnx_version: 1.17.0',
    '    providers:',
    '    - CUDAExecutionProvider',
    '    - CPUExecutionProvider',
    '  python_function:',
    `    data: ${overrides.data ?? 'model.onnx'}`,
    '    env:',
    '      conda: conda.yaml',
    '      virtualenv: python_env.yaml',
    '    loader_module: mlflow.onnx',
    '    python_version: 3.11.11',
    `mlflow_version: ${overrides.modelId ? '3.6.0' : '2.22.0'}`,
    ...(overrides.modelId
      ? [`model_id: ${overrides.modelId}`, `model_uuid: ${overrides.modelId}`, 'prompts: null']
      : ['model_uuid: 1f82a364e20f4061984040cf41c3052e']),
    ...(overrides.runId ? [`run_id: ${overrides.runId}`] : []),
    'signature:',
    `  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}, "name": "input"}]'`,
    `  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}, "name": "variable"}]'`,
    '  params: null',
    "utc_time_created: '2025-11-20 10:15:42.123456'",
    '',
  ].join('\n');
}

/** The Zoomcamp model: an sklearn pickle, no onnx flavor (docs/mlflow-rest-contract.md, "Sources"). */
export const SKLEARN_MLMODEL = [
  'artifact_path: model',
  'flavors:',
  '  python_function:',
  '    env:',
  '      conda: conda.yaml',
  '      virtualenv: python_env.yaml',
  '    loader_module: mlflow.sklearn',
  '    model_path: model.pkl',
  '    predict_fn: predict',
  '    python_version: 3.9.12',
  '  sklearn:',
  '    code: null',
  '    pickled_model: model.pkl',
  '    serialization_format: cloudpickle',
  '    sklearn_version: 1.0.2',
  'mlflow_version: 2.3.1',
  'model_uuid: 4f2c6a0b7f0e4d0c9f5b6c1d2e3f4a5b',
  '',
].join('\n');

/** A model directory's files: MLmodel, opaque model bytes (download tests never parse them) and extras. */
export function modelFiles(options: { mlmodel?: string; externalData?: boolean } = {}): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    MLmodel: Buffer.from(options.mlmodel ?? onnxMlmodel()),
    'model.onnx': randomBytes(4096),
    'conda.yaml': Buffer.from('name: mlflow-env\ndependencies:\n- python=3.11.11\n'),
    'python_env.yaml': Buffer.from('python: 3.11.11\n'),
    'requirements.txt': Buffer.from('mlflow==3.6.0\nonnx==1.17.0\n'),
  };
  // why: onnx moves initializers ≥ 1 KiB into one <uuid>.data side file beside model.onnx (docs/mlflow-rest-contract.md, "The MLmodel file").
  if (options.externalData) files['2f1c9d3e-0b7a-11f0-9c2e-0242ac120002.data'] = randomBytes(64 * 1024);
  return files;
}

export interface Harness {
  fake: FakeMlflow;
  tmp: string;
  client: ReturnType<typeof createMlflowClient>;
  makeClient(options?: Partial<MlflowClientOptions>): ReturnType<typeof createMlflowClient>;
  close(): Promise<void>;
}

/** A fake server, a temp dir and a client with fast retries (1 ms backoff, no jitter). */
export async function startHarness(options: FakeMlflowOptions = {}): Promise<Harness> {
  const fake = await startFakeMlflow(options);
  const tmp = await mkdtemp(join(tmpdir(), 'mlflow-registry-'));
  const makeClient = (o: Partial<MlflowClientOptions> = {}) =>
    createMlflowClient({ trackingUri: fake.url, maxRetries: 3, backoffFactor: 0.001, backoffJitter: 0, timeoutMs: 2000, ...o });
  return {
    fake,
    tmp,
    client: makeClient(),
    makeClient,
    close: async () => {
      await fake.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** Logs recorded as plain objects, for asserting on warnings. */
export function recordingLogger() {
  const lines: { level: 'warn' | 'info'; obj: object; msg: string }[] = [];
  return {
    lines,
    warn: (obj: object, msg: string) => void lines.push({ level: 'warn', obj, msg }),
    info: (obj: object, msg: string) => void lines.push({ level: 'info', obj, msg }),
  };
}

/** MLflow 2 style: the model logged under a run, registered with its mlflow-artifacts: source. */
export function registerMlflow2Version(
  fake: FakeMlflow,
  files = modelFiles(),
  extra: { stage?: 'None' | 'Staging' | 'Production' | 'Archived'; aliases?: string[] } = {},
) {
  const run = fake.createRun();
  const dir = `${run.artifact_uri}/model`;
  fake.putArtifacts(dir, files);
  const version = fake.createVersion({ name: MODEL, source: dir, runId: run.run_id, ...extra });
  return { run, dir, version };
}

/** MLflow 3 style: a logged model outside the run, registered with source models:/m-<id>. */
export function registerMlflow3Version(fake: FakeMlflow, files?: Record<string, Buffer>, extra: { aliases?: string[] } = {}) {
  const run = fake.createRun();
  const logged = fake.createLoggedModel({ name: 'model', sourceRunId: run.run_id });
  fake.putArtifacts(logged.artifact_uri, files ?? modelFiles({ mlmodel: onnxMlmodel({ modelId: logged.model_id, runId: run.run_id }) }));
  const version = fake.createVersion({ name: MODEL, source: `models:/${logged.model_id}`, ...extra });
  return { run, logged, version };
}
