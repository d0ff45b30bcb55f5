/**
 * The seam between "which model" (MODEL_URI) and "where are its files". A ModelSource turns a model
 * URI into a local MLflow Model directory; the embedded file registry is one source, a remote MLflow
 * registry with a download cache is another. The model loader only ever sees the directory.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ModelLoadError, type ModelLoadFailure } from '../errors.js';
import { loadZoneTable, type ZoneTable } from '../features/zones.js';
import { createFileRegistry } from './file-registry.js';
import { createMlflowModelSource } from './mlflow-model-source.js';
import type { MlflowClient, RegistryLogger } from './mlflow-client.js';
import type { ModelCache } from './model-cache.js';
import type { ModelUri } from './model-uri.js';

/** A model version resolved to files on this machine. */
export interface ResolvedModel {
  readonly name: string;
  readonly version: string;
  /** The alias the URI named, when it named one. */
  readonly alias: string | undefined;
  /** The MLflow Model directory (holds MLmodel). */
  readonly dir: string;
  /** True when the registry could not be reached and this is the last good cached version. */
  readonly stale?: boolean;
}

export interface ModelSource {
  /** For logs: where this source looks, e.g. `file:/app/models`. */
  readonly description: string;
  /** Resolves alias or version to a directory. Throws ModelLoadError('resolve' | 'artifact'), or the source's own errors. */
  resolve(uri: ModelUri): Promise<ResolvedModel>;
  /**
   * For a source whose errors are not ModelLoadErrors: the `reason` label of
   * model_load_failures_total for one of them. Without it, a failed resolve counts as 'resolve'.
   */
  failureReason?(err: unknown): ModelLoadFailure;
  /**
   * Which version `uri` names right now, without downloading or loading anything (the alias poller).
   * Sources without it are not polled; POST /admin/reload still resolves them.
   */
  peek?(uri: ModelUri): Promise<{ readonly name: string; readonly version: string }>;
}

/** What an http(s) REGISTRY_URI needs: the MLflow client and the download cache. */
export interface MlflowSourceDeps {
  client: MlflowClient;
  cache: ModelCache;
  logger?: RegistryLogger;
}

/** What the MLflow Model directory says about the model, read from MLmodel and training.json. */
export interface ModelDirectory {
  /** Absolute path of the ONNX file (MLmodel flavors.onnx.data). */
  readonly onnxFile: string;
  /** training.json as written by the training pipeline, or undefined when the directory has none. */
  readonly training: Record<string, unknown> | undefined;
  /** zones.json (versions 4 on), or undefined when the directory has none. */
  readonly zones?: ZoneTable;
}

/**
 * Picks the source for REGISTRY_URI: `file:` is the embedded registry (paths relative to `cwd`),
 * http(s):// the MLflow registry through `options.mlflow` (client + on-disk cache).
 */
export function createModelSource(registryUri: string, options: { cwd: string; mlflow?: MlflowSourceDeps }): ModelSource {
  if (registryUri.startsWith('file:')) {
    const rest = registryUri.slice('file:'.length);
    const root = rest.startsWith('//') ? fileURLToPath(registryUri) : resolve(options.cwd, rest);
    return createFileRegistry(root);
  }
  if (/^https?:\/\//.test(registryUri) && options.mlflow) {
    const source = createMlflowModelSource(options.mlflow);
    return { description: source.description, resolve: source.resolve, failureReason: source.failureReason, peek: source.peek };
  }
  throw new ModelLoadError('resolve', `REGISTRY_URI ${registryUri}: expected file:<dir>, or http(s):// with an MLflow client`);
}

/** Reads MLmodel (YAML), training.json and zones.json (when present) from an MLflow Model directory. */
export async function readModelDirectory(dir: string): Promise<ModelDirectory> {
  let mlmodel: unknown;
  try {
    mlmodel = parseYaml(await readFile(join(dir, 'MLmodel'), 'utf8'));
  } catch (err) {
    throw new ModelLoadError('artifact', `cannot read ${join(dir, 'MLmodel')}: ${(err as Error).message}`, { cause: err });
  }
  const data = (mlmodel as { flavors?: { onnx?: { data?: unknown } } } | null)?.flavors?.onnx?.data;
  if (typeof data !== 'string' || data.length === 0) {
    throw new ModelLoadError('artifact', `${join(dir, 'MLmodel')} has no onnx flavor (flavors.onnx.data)`);
  }
  const onnxFile = resolve(dir, data);
  // why: MLmodel is data from a registry; it must not point the loader outside the model's directory.
  const rel = relative(dir, onnxFile);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new ModelLoadError('artifact', `${join(dir, 'MLmodel')}: flavors.onnx.data points outside the model directory`);
  }
  let training: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, 'training.json'), 'utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) training = parsed as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ModelLoadError('artifact', `cannot read ${join(dir, 'training.json')}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  let zones: ZoneTable | undefined;
  try {
    zones = await loadZoneTable(dir);
  } catch (err) {
    throw new ModelLoadError('artifact', `cannot read the zone table: ${(err as Error).message}`, { cause: err });
  }
  return { onnxFile, training, zones };
}
