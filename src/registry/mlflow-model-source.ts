/**
 * A remote MLflow registry as a model source: a model URI in, a verified local MLflow Model directory
 * out, through the on-disk cache. It is shaped like the service's ModelSource (model-source.ts:
 * `description` + `resolve(uri) → {name, version, alias, dir}`) without importing it, so the
 * integration can pass it where a ModelSource is expected; its errors are RegistryError, and
 * `failureReason` maps them to the `reason` label of model_load_failures_total.
 *
 * When the registry cannot be reached (`unavailable`), `resolve` falls back to the last good cached
 * version for the same URI and marks the result `stale`, so start-up can serve it and say so. Other
 * failures (unknown alias, refused credentials, a model without onnx) are never masked by the cache.
 */
import { resolveModelUri, type ResolvedModelVersion } from '../mlflow/download.js';
import type { MlflowClient, RegistryLogger } from '../mlflow/client.js';
import { isRegistryError } from '../mlflow/errors.js';
import type { ModelCache } from './model-cache.js';
import { parseMlflowUri } from '../mlflow/uri.js';

export interface RemoteModel {
  readonly name: string;
  readonly version: string;
  /** The alias the URI named, when it named one. */
  readonly alias: string | undefined;
  /** The MLflow Model directory (in the cache). */
  readonly dir: string;
  readonly onnxFile: string;
  /** The version's run and logged model, for /model and logs. */
  readonly runId: string | undefined;
  readonly modelId: string | undefined;
  readonly source: string | undefined;
  /** True when nothing had to be downloaded. */
  readonly fromCache: boolean;
  /** True when the registry was unreachable and this is the last good cached version, not a fresh resolution. */
  readonly stale: boolean;
}

export interface MlflowModelSource {
  readonly description: string;
  /** Resolves and downloads (or finds in the cache) the version `uri` names right now. */
  resolve(uri: { readonly text: string }): Promise<RemoteModel>;
  /** Asks the registry which version `uri` names now, downloading nothing (for the alias poller). */
  peek(uri: { readonly text: string }): Promise<ResolvedModelVersion>;
  /** The model_load_failures_total {reason} for an error of `resolve` (ModelSource.failureReason). */
  failureReason(err: unknown): 'resolve' | 'artifact';
}

export function createMlflowModelSource(deps: { client: MlflowClient; cache: ModelCache; logger?: RegistryLogger }): MlflowModelSource {
  const { client, cache, logger } = deps;
  return {
    description: `${client.trackingUri} (cache ${cache.root})`,

    async resolve(uri) {
      const parsed = parseMlflowUri(uri.text);
      const alias = parsed.kind === 'alias' ? parsed.alias : undefined;
      try {
        const got = await cache.load(uri.text, client);
        const m = got.manifest;
        return { name: got.name, version: got.version, alias, dir: got.dir, onnxFile: got.onnxFile, runId: m.runId, modelId: m.modelId, source: m.source, fromCache: got.fromCache, stale: false };
      } catch (err) {
        if (!isRegistryError(err, 'unavailable')) throw err;
        const cached = await cache.lastGoodFor(uri.text);
        if (!cached) throw err;
        logger?.warn(
          { modelUri: uri.text, version: cached.version, cachedAt: cached.manifest.resolutions[0]?.at, err: err.message },
          'MLflow registry unreachable; serving the last good cached version',
        );
        const m = cached.manifest;
        return { name: cached.name, version: cached.version, alias, dir: cached.dir, onnxFile: cached.onnxFile, runId: m.runId, modelId: m.modelId, source: m.source, fromCache: true, stale: true };
      }
    },

    // why: no logger, so a stage URI's deprecation warning is logged once per load, not once per poll.
    peek: (uri) => resolveModelUri(uri.text, client),
    failureReason: loadFailureReason,
  };
}

/** The model_load_failures_total {reason} for a failure of `resolve`: 'resolve' (registry) or 'artifact' (files). */
export function loadFailureReason(err: unknown): 'resolve' | 'artifact' {
  return isRegistryError(err, 'invalid_model') ? 'artifact' : 'resolve';
}
