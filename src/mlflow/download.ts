/**
 * From a model URI to an MLflow Model directory on local disk, following the contract's recommended
 * download procedure (docs/mlflow-rest-contract.md, "Downloading artifacts"): resolve the URI to a version (or a logged model, or a run), ask the server
 * where its files are stored, list that directory recursively and download every file (external ONNX
 * weights included), then check MLmodel has an onnx flavor. Files land in a sibling staging directory
 * that is renamed into place only when complete, so a failure never leaves a partial model behind.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ArtifactLocation, MlflowClient, ModelVersion, RegistryLogger } from './client.js';
import { RegistryError, isRegistryError } from './errors.js';
import { readMlmodel, type MlmodelInfo } from './mlmodel.js';
import { writeDirectory } from './staging.js';
import { joinArtifactPath, parseMlflowUri, type MlflowModelUri } from './uri.js';

export type { MlmodelInfo } from './mlmodel.js';

/** What a model URI resolved to, before any file is downloaded. */
export interface ResolvedModelVersion {
  /** The URI as given. */
  readonly uri: string;
  readonly kind: MlflowModelUri['kind'];
  /** Registered model name; for runs:/ the run id, for models:/m-<id> the model id. */
  readonly name: string;
  /** Registered version; for runs:/ the artifact path, for models:/m-<id> the model id. */
  readonly version: string;
  /** The alias the URI named, when it named one. */
  readonly alias: string | undefined;
  /** The version's `source` as registered (e.g. models:/m-…, mlflow-artifacts:/…, runs:/…). */
  readonly source: string | undefined;
  readonly runId: string | undefined;
  /** MLflow 3 logged model id, when known. */
  readonly modelId: string | undefined;
  /** Where the files are read from (the download URI). */
  readonly storageUri: string;
  readonly location: ArtifactLocation;
  /** Deprecation warnings (stages, latest); also logged. */
  readonly warnings: readonly string[];
}

export interface DownloadedModel {
  readonly resolved: ResolvedModelVersion;
  /** The MLflow Model directory (holds MLmodel). */
  readonly dir: string;
  /** Absolute path of the ONNX file; load it by path so ONNX Runtime finds external data beside it. */
  readonly onnxFile: string;
  readonly mlmodel: MlmodelInfo;
  /** Every downloaded file, relative to `dir`, with its size. */
  readonly files: readonly { path: string; size: number }[];
}

/** Resolves a models:/, runs:/ or mlflow-artifacts: URI to a version and the location of its files. */
export async function resolveModelUri(
  input: string | MlflowModelUri,
  client: MlflowClient,
  options: { logger?: RegistryLogger } = {},
): Promise<ResolvedModelVersion> {
  const uri = typeof input === 'string' ? parseMlflowUri(input) : input;
  const warnings: string[] = [];
  if ('warning' in uri) {
    warnings.push(uri.warning);
    options.logger?.warn({ modelUri: uri.text }, uri.warning);
  }
  const base = { uri: uri.text, kind: uri.kind, warnings };

  if (uri.kind === 'logged-model') {
    const info = await client.getLoggedModel(uri.modelId);
    return {
      ...base,
      name: uri.modelId,
      version: uri.modelId,
      alias: undefined,
      source: uri.text,
      runId: info.source_run_id,
      modelId: info.model_id,
      storageUri: info.artifact_uri,
      location: await locate(client, info.artifact_uri, info.source_run_id),
    };
  }
  if (uri.kind === 'run') {
    const found = await locateRunModel(client, uri.runId, uri.path);
    return { ...base, name: uri.runId, version: uri.path || '.', alias: undefined, source: uri.text, runId: uri.runId, ...found };
  }
  if (uri.kind === 'artifacts') {
    const location = client.artifactLocation(uri.artifactUri);
    if (!location) throw new RegistryError('invalid_model', `${uri.text}: not an artifact proxy URI`);
    return {
      ...base,
      name: 'mlflow-artifacts',
      version: location.path,
      alias: undefined,
      source: uri.text,
      runId: undefined,
      modelId: undefined,
      storageUri: uri.artifactUri,
      location,
    };
  }

  const mv = await pickVersion(uri, client);
  const storageUri = await client.getDownloadUri(mv.name, mv.version);
  const modelId = mv.model_id ?? /^models:\/(m-[^/]+)$/.exec(mv.source ?? '')?.[1];
  return {
    ...base,
    name: mv.name,
    version: mv.version,
    alias: uri.kind === 'alias' ? uri.alias : undefined,
    source: mv.source,
    runId: mv.run_id,
    modelId,
    storageUri,
    location: await locate(client, storageUri, mv.run_id),
  };
}

async function pickVersion(uri: Extract<MlflowModelUri, { name: string }>, client: MlflowClient): Promise<ModelVersion> {
  if (uri.kind === 'alias') return client.getModelVersionByAlias(uri.name, uri.alias);
  if (uri.kind === 'version') return client.getModelVersion(uri.name, uri.version);
  const versions = await client.getLatestVersions(uri.name, uri.kind === 'stage' ? [uri.stage] : []);
  if (versions.length === 0) {
    const where = uri.kind === 'stage' ? ` and stage '${uri.stage}'` : '';
    throw new RegistryError('not_found', `No versions of model with name '${uri.name}'${where} found`);
  }
  // why: the server returns one latest version per stage; MLflow's client takes the highest number.
  return versions.reduce((a, b) => (Number(b.version) > Number(a.version) ? b : a));
}

/** Turns a storage URI into a readable location (docs/mlflow-rest-contract.md, "Downloading artifacts"). */
async function locate(client: MlflowClient, storageUri: string, runId: string | undefined, depth = 0): Promise<ArtifactLocation> {
  const proxied = client.artifactLocation(storageUri);
  if (proxied) return proxied;
  if (depth < 2 && storageUri.startsWith('runs:/')) {
    const m = /^runs:\/+([^/]+)\/?(.*)$/.exec(storageUri);
    if (m) return (await locateRunModel(client, m[1], m[2].replace(/\/+$/, ''))).location;
  }
  if (depth < 2 && /^models:\/m-[^/]+$/.test(storageUri)) {
    const info = await client.getLoggedModel(storageUri.slice('models:/'.length));
    return locate(client, info.artifact_uri, info.source_run_id, depth + 1);
  }
  // why: for stores the service cannot read itself (s3:// without credentials here), the tracking
  // server can list and stream a run's artifacts for us (artifacts/list + /get-artifact, docs/mlflow-rest-contract.md, "Downloading artifacts").
  if (runId) {
    const run = await client.getRun(runId);
    const root = run.info.artifact_uri?.replace(/\/+$/, '');
    if (root && (storageUri === root || storageUri.startsWith(`${root}/`))) {
      return { kind: 'run', runId, path: joinArtifactPath(storageUri.slice(root.length)) };
    }
  }
  throw new RegistryError(
    'invalid_model',
    `cannot download from ${storageUri}: only the artifact proxy (mlflow-artifacts:/…, server started with ` +
      '--serve-artifacts) and run artifacts served by the tracking server are supported',
  );
}

/**
 * runs:/<id>/<path>: the run's own artifacts (MLflow 2), or else the logged model of that run whose
 * name is <path> (MLflow 3 stores models outside the run, docs/mlflow-rest-contract.md, "Downloading artifacts").
 */
async function locateRunModel(client: MlflowClient, runId: string, path: string) {
  const run = await client.getRun(runId);
  const root = run.info.artifact_uri;
  if (!root) throw new RegistryError('bad_response', `run ${runId} has no artifact_uri`);
  const runLocation = await locate(client, root, runId, 2);
  const location = { ...runLocation, path: joinArtifactPath(runLocation.path, path) } as ArtifactLocation;
  const listing = await client.listArtifacts(location).catch((err: unknown) => {
    if (isRegistryError(err, 'not_found')) return [];
    throw err;
  });
  if (listing.some((f) => f.path === 'MLmodel' && !f.is_dir)) {
    return { modelId: undefined, storageUri: `${root.replace(/\/+$/, '')}/${path}`, location };
  }
  const outputs = [...run.outputs.model_outputs].sort((a, b) => b.step - a.step);
  for (const output of outputs) {
    const info = await client.getLoggedModel(output.model_id);
    if (info.name === path) {
      return { modelId: info.model_id, storageUri: info.artifact_uri, location: await locate(client, info.artifact_uri, runId, 2) };
    }
  }
  throw new RegistryError(
    'not_found',
    `run ${runId} has no model at "${path}" (no ${path}/MLmodel among its artifacts and no logged model named "${path}")`,
  );
}

/**
 * Downloads the resolved model directory into `destDir` (which must not exist) and checks its MLmodel.
 * All or nothing: on any failure nothing is left at `destDir` or beside it.
 */
export async function downloadModelDirectory(
  resolved: ResolvedModelVersion,
  client: MlflowClient,
  destDir: string,
): Promise<DownloadedModel> {
  const dest = resolve(destDir);
  if (
    await stat(dest).then(
      () => true,
      () => false,
    )
  ) {
    // why: a caller error, not a registry failure; replacing a directory in use would not be atomic.
    throw new Error(`cannot download ${resolved.uri} into ${dest}: it already exists`);
  }
  const { created, value } = await writeDirectory(dest, async (staging) => {
    const files = await client.downloadArtifacts(resolved.location, staging);
    if (files.length === 0) throw new RegistryError('not_found', `${resolved.uri}: no files at ${resolved.storageUri}`);
    const { onnxFile: _, ...mlmodel } = await readMlmodel(staging, describeModel(resolved));
    return { files, mlmodel: mlmodel as MlmodelInfo };
  });
  if (!created) throw new Error(`cannot download ${resolved.uri} into ${dest}: another download created it first`);
  return { resolved, dir: dest, onnxFile: join(dest, value.mlmodel.onnxData), mlmodel: value.mlmodel, files: value.files };
}

/** resolveModelUri + downloadModelDirectory. */
export async function resolveAndDownload(
  uri: string | MlflowModelUri,
  client: MlflowClient,
  destDir: string,
  options: { logger?: RegistryLogger } = {},
): Promise<DownloadedModel> {
  return downloadModelDirectory(await resolveModelUri(uri, client, options), client, destDir);
}

function describeModel(r: ResolvedModelVersion): string {
  return r.kind === 'alias' || r.kind === 'version' || r.kind === 'stage' || r.kind === 'latest'
    ? `model ${r.name} version ${r.version} (${r.uri})`
    : `model ${r.uri}`;
}
