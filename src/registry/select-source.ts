/**
 * Which ModelSource serves MODEL_URI: file:<dir> and http(s):// model URIs need no registry; models:/ and
 * runs:/ URIs go to REGISTRY_URI (the embedded file registry, or an MLflow server through the client and
 * the download cache in MODEL_CACHE_DIR).
 */
import type { Config } from '../config.js';
import { createPathSource, createUrlSource } from './direct-sources.js';
import { createMlflowClient, type RegistryLogger } from '../mlflow/client.js';
import { createModelCache } from './model-cache.js';
import { createModelSource, type ModelSource } from './model-source.js';
import type { ModelUri } from './model-uri.js';

type SourceConfig = Pick<Config, 'REGISTRY_URI' | 'MODEL_CACHE_DIR' | 'MODEL_CACHE_KEEP' | 'MLFLOW'>;

export function selectModelSource(uri: ModelUri, config: SourceConfig, options: { cwd: string; logger?: RegistryLogger }): ModelSource {
  if (uri.kind === 'path') return createPathSource(options.cwd);
  if (uri.kind === 'url') return createUrlSource(config.MODEL_CACHE_DIR);
  if (config.MLFLOW === undefined) return createModelSource(config.REGISTRY_URI, { cwd: options.cwd });
  const { logger } = options;
  return createModelSource(config.REGISTRY_URI, {
    cwd: options.cwd,
    mlflow: {
      client: createMlflowClient({ ...config.MLFLOW, logger }),
      cache: createModelCache({ dir: config.MODEL_CACHE_DIR, keep: config.MODEL_CACHE_KEEP, logger }),
      logger,
    },
  });
}
