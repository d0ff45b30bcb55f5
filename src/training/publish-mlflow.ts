/**
 * `npm run train -- … --registry http(s)://<mlflow>`: the trained model goes to an MLflow tracking
 * server as a run (params, metrics, tags with the data files' sha256), the MLflow Model directory as
 * the run's artifacts (through the artifact proxy), a new version of the registered model, and the
 * alias moved to it, so the service (MODEL_URI=models:/<name>@<alias>) picks it up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureSet } from '../features/model-contract.js';
import type { MlflowClient } from '../mlflow/client.js';
import { RegistryError } from '../mlflow/errors.js';
import { writeModelFiles } from './registry-writer.js';
import type { ZoneTable } from '../features/zones.js';

export interface MlflowPublishRequest {
  readonly client: MlflowClient;
  readonly name: string;
  readonly featureSet: FeatureSet;
  readonly onnx: Uint8Array;
  /** training.json; its params, metrics and data fingerprints are logged on the run too. */
  readonly trainingRecord: Record<string, unknown>;
  readonly alias?: string;
  readonly zoneTable?: ZoneTable;
  readonly intervals?: boolean;
  /** Experiment name; defaults to the model name. */
  readonly experiment?: string;
}

export interface MlflowPublishResult {
  readonly version: string;
  /** models:/<name>/<version>, for the CLI's summary line. */
  readonly dir: string;
  readonly runId: string;
  /** The registered version's source: <run artifact_uri>/model. */
  readonly source: string;
}

export async function publishToMlflow(request: MlflowPublishRequest): Promise<MlflowPublishResult> {
  const { client, name } = request;
  const experiment = await client.getOrCreateExperiment(request.experiment ?? name);
  const run = await client.createRun({
    experimentId: experiment.experiment_id,
    runName: `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    tags: { 'mlflow.source.name': 'src/training/cli.ts', 'mlflow.source.type': 'LOCAL' },
  });
  const artifactUri = run.artifact_uri?.replace(/\/+$/, '');
  const staging = await mkdtemp(join(tmpdir(), 'mlflow-model-'));
  try {
    if (!artifactUri) throw new RegistryError('bad_response', `run ${run.run_id} has no artifact_uri`);
    const location = client.artifactLocation(artifactUri);
    if (!location) {
      throw new RegistryError(
        'rejected',
        `run artifacts at ${artifactUri} are not behind the artifact proxy; start the server with --serve-artifacts`,
      );
    }
    await client.logBatch(run.run_id, runLog(request.trainingRecord));
    await writeModelFiles(staging, request);
    await client.uploadArtifactDir(location, staging, 'model');
    await client.updateRun(run.run_id, 'FINISHED');
  } catch (err) {
    // why: a run left RUNNING looks like a training still in progress; mark it failed, keep the first error.
    await client.updateRun(run.run_id, 'FAILED').catch(() => undefined);
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await client.createRegisteredModel(name, 'NYC taxi ride duration in minutes (ONNX), trained by this project');
  const source = `${artifactUri}/model`;
  const version = await client.createModelVersion({ name, source, runId: run.run_id });
  if (request.alias) await client.setModelVersionAlias(name, request.alias, version.version);
  return { version: version.version, dir: `models:/${name}/${version.version}`, runId: run.run_id, source };
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** training.json → MLflow params (flattened), metrics (per split) and tags (data fingerprints, code version). */
export function runLog(record: Json) {
  const params: Record<string, string | number | boolean> = { seed: String(record.seed), feature_set: String(record.feature_set) };
  const flatten = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v);
    } else params[prefix] = typeof value === 'number' || typeof value === 'boolean' ? value : String(value);
  };
  flatten('', record.params);
  const metrics: Record<string, number> = {};
  const m = obj(record.metrics);
  const split = (prefix: string, s: unknown) => {
    const overall = obj(obj(s).overall);
    for (const key of ['rmse', 'mae', 'rows'] as const) if (typeof overall[key] === 'number') metrics[`${prefix}_${key}`] = overall[key];
  };
  split('train', m.train);
  split('validation', m.validation);
  for (const [file, s] of Object.entries(obj(m.evaluation))) split(`eval_${file.replace(/[^A-Za-z0-9_.-]/g, '_')}`, s);
  const tags: Record<string, string> = {};
  const data = obj(record.data);
  for (const [role, d] of Object.entries(data)) {
    const entries = Array.isArray(d) ? d.map((x, i) => [`${role}.${i}`, x] as const) : [[role, d] as const];
    for (const [key, entry] of entries) {
      const e = obj(entry);
      if (typeof e.sha256 === 'string') tags[`data.${key}.sha256`] = e.sha256;
      if (typeof e.source === 'string') tags[`data.${key}.source`] = e.source;
      else if (typeof e.file === 'string') tags[`data.${key}.file`] = e.file;
    }
  }
  const code = obj(record.code);
  if (typeof code.git_commit === 'string') tags['mlflow.source.git.commit'] = code.git_commit;
  if (typeof code.git_dirty === 'boolean') tags.git_dirty = String(code.git_dirty);
  const onnx = obj(record.model_onnx);
  if (typeof onnx.sha256 === 'string') tags['model_onnx.sha256'] = onnx.sha256;
  return { params, metrics, tags };
}
