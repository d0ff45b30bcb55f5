/**
 * A remote MLflow registry as a model source: a model URI in, a verified local MLflow Model directory
 * out, through the on-disk cache (model-cache.ts). The library's RegistryErrors become ModelLoadErrors
 * here: `invalid_model` is an artifact failure, the rest resolve failures, `unavailable` transient.
 */
import { ModelLoadError } from '../errors.js';
import type { MlflowClient, RegistryLogger } from '../mlflow/client.js';
import { resolveModelUri } from '../mlflow/download.js';
import { isRegistryError } from '../mlflow/errors.js';
import type { CachedModel, ModelCache } from './model-cache.js';
import type { ModelSource, ResolvedModel } from './model-source.js';
import type { ModelUri, RegistryModelUri } from './model-uri.js';

/** A resolved version with what the registry said about it, for /model and logs. */
export interface RemoteModel extends ResolvedModel {
  readonly onnxFile: string;
  readonly runId: string | undefined;
  readonly modelId: string | undefined;
  readonly source: string | undefined;
  /** True when nothing had to be downloaded. */
  readonly fromCache: boolean;
}

export interface MlflowModelSource extends ModelSource {
  resolve(uri: ModelUri): Promise<RemoteModel>;
  peek(uri: ModelUri): Promise<{ readonly name: string; readonly version: string }>;
  recordLoaded(uri: ModelUri, model: { readonly name: string; readonly version: string }): Promise<void>;
  lastLoaded(uri: ModelUri): Promise<RemoteModel | undefined>;
}

export function createMlflowModelSource(deps: { client: MlflowClient; cache: ModelCache; logger?: RegistryLogger }): MlflowModelSource {
  const { client, cache } = deps;
  const remote = (uri: ModelUri, got: CachedModel, stale: boolean): RemoteModel => {
    const m = got.manifest;
    const alias = uri.kind === 'alias' ? uri.alias : undefined;
    return {
      name: got.name,
      version: got.version,
      alias,
      dir: got.dir,
      onnxFile: got.onnxFile,
      runId: m.runId,
      modelId: m.modelId,
      source: m.source,
      fromCache: got.fromCache,
      stale,
    };
  };
  return {
    description: `${client.trackingUri} (cache ${cache.root})`,

    async resolve(uri) {
      try {
        return remote(uri, await cache.load(registryUri(uri), client), false);
      } catch (err) {
        throw asLoadError(err);
      }
    },

    // why: no logger, so a stage URI's deprecation warning is logged once per load, not once per poll.
    async peek(uri) {
      try {
        return await resolveModelUri(registryUri(uri), client);
      } catch (err) {
        throw asLoadError(err);
      }
    },

    async recordLoaded(uri, model) {
      await cache.recordLoad(registryUri(uri), model.name, model.version);
    },

    async lastLoaded(uri) {
      const got = await cache.lastLoaded(registryUri(uri));
      return got && remote(uri, got, true);
    },
  };
}

function registryUri(uri: ModelUri): RegistryModelUri {
  if (uri.kind === 'path' || uri.kind === 'url')
    throw new ModelLoadError('resolve', `${uri.text}: not a registry URI (models:/ or runs:/)`);
  return uri;
}

/** The one load error type for the model code: reason for model_load_failures_total, transient for retries. */
export function asLoadError(err: unknown): unknown {
  if (!isRegistryError(err)) return err;
  return new ModelLoadError(err.code === 'invalid_model' ? 'artifact' : 'resolve', err.message, {
    cause: err,
    transient: err.code === 'unavailable',
  });
}
