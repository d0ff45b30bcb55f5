/**
 * The one factory of model sources: which source serves MODEL_URI. file:<dir> and http(s):// model URIs
 * need no registry; models:/ and runs:/ URIs go to REGISTRY_URI, the embedded file registry or an MLflow
 * server (client + the download cache in MODEL_CACHE_DIR). docs/registries.md draws the whole picture.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '../errors.js';
import { createMlflowClient, type FetchLike, type MlflowClientOptions, type RegistryLogger } from '../mlflow/client.js';
import { createPathSource, createUrlSource } from './direct-sources.js';
import { createFileRegistry } from './file-registry.js';
import { createMlflowModelSource } from './mlflow-model-source.js';
import { createModelCache } from './model-cache.js';
import type { ModelSource } from './model-source.js';
import type { ModelUri } from './model-uri.js';

/** The settings a source needs (a subset of src/config.ts's Config). */
export interface SourceSettings {
  readonly MODEL_URI: ModelUri;
  readonly REGISTRY_URI: string;
  readonly MODEL_CACHE_DIR: string;
  readonly MODEL_CACHE_KEEP: number;
  /** MLflow client options; set when REGISTRY_URI is http(s)://. */
  readonly MLFLOW: MlflowClientOptions | undefined;
}

/** `cwd` resolves relative file: paths; `fetch` is for tests of the MLflow client. */
export function createModelSource(
  settings: SourceSettings,
  options: { cwd: string; logger?: RegistryLogger; fetch?: FetchLike },
): ModelSource {
  const { MODEL_URI: uri, REGISTRY_URI: registry } = settings;
  if (uri.kind === 'path') return createPathSource(options.cwd);
  if (uri.kind === 'url') return createUrlSource(settings.MODEL_CACHE_DIR);
  if (registry.startsWith('file:')) {
    const rest = registry.slice('file:'.length);
    const root = rest.startsWith('//') ? fileURLToPath(registry) : resolve(options.cwd, rest);
    // why: one cache directory may serve several registries (tests, a dev machine); each gets its own record.
    const key = createHash('sha256').update(root).digest('hex').slice(0, 16);
    return createFileRegistry(root, { recordDir: join(settings.MODEL_CACHE_DIR, 'file-registry-loads', key) });
  }
  if (/^https?:\/\//.test(registry) && settings.MLFLOW) {
    const { logger } = options;
    return createMlflowModelSource({
      client: createMlflowClient({ ...settings.MLFLOW, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }),
      cache: createModelCache({ dir: settings.MODEL_CACHE_DIR, keep: settings.MODEL_CACHE_KEEP, logger }),
      logger,
    });
  }
  throw new ModelLoadError('resolve', `REGISTRY_URI ${registry}: expected file:<dir>, or http(s):// with MLflow client options`);
}
