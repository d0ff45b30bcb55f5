/**
 * MODEL_URI parsing, done once by src/config.ts. The forms are MLflow's (src/mlflow/uri.ts holds the grammar):
 *   models:/<name>@<alias> (preferred), models:/<name>/<version>,
 *   models:/<name>/<stage> and models:/<name>/latest (deprecated by MLflow: accepted with a warning),
 *   models:/m-<id> (an MLflow 3 logged model), runs:/<run_id>/<path>
 * plus two forms that need no registry:
 *   file:<dir>             an MLflow Model directory on this machine (relative to the working directory)
 *   http(s)://…            a model directory (holding MLmodel) or a single .onnx file served over HTTP
 */
import { MlflowUriError, parseMlflowUri, type MlflowModelUri } from '../mlflow/uri.js';

/** A URI a registry resolves: MLflow's forms, less mlflow-artifacts: (a directory, not a model version). */
export type RegistryModelUri = Exclude<MlflowModelUri, { kind: 'artifacts' }>;
/** MODEL_URI, parsed; `text` is the variable as given (trimmed). */
export type ModelUri =
  | RegistryModelUri
  | { readonly kind: 'path'; readonly path: string; readonly text: string }
  | { readonly kind: 'url'; readonly url: string; readonly text: string };

/** URI kinds that need a model registry (REGISTRY_URI) to resolve. */
export const REGISTRY_KINDS = new Set<ModelUri['kind']>(['alias', 'version', 'stage', 'latest', 'logged-model', 'run']);
/** URI kinds the embedded file registry answers; the others need an MLflow server. */
export const FILE_REGISTRY_KINDS = new Set<ModelUri['kind']>(['alias', 'version']);

// why: names end up as directory names in the file registry and the cache, so separators and dot-dot are refused.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ALIAS = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const VERSION = /^[1-9][0-9]*$/;

const FORMS =
  'expected models:/<name>@<alias>, models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest, ' +
  'models:/m-<id>, runs:/<run_id>/<path>, file:<model directory> or an http(s):// URL of a model directory or .onnx file';

export function parseModelUri(input: string): ModelUri {
  const text = input.trim();
  if (/^https?:\/\//i.test(text)) {
    try {
      return { kind: 'url', url: new URL(text).href, text };
    } catch {
      throw new Error(`${JSON.stringify(text)} is not a valid URL`);
    }
  }
  if (text.startsWith('file:')) {
    const path = text.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new Error(`${FORMS}, got ${JSON.stringify(text)} (no directory)`);
    return { kind: 'path', path, text };
  }
  if (!/^(models|runs):/.test(text)) throw new Error(`${FORMS}, got ${JSON.stringify(input)}`);
  let parsed;
  try {
    parsed = parseMlflowUri(text);
  } catch (err) {
    if (err instanceof MlflowUriError) throw new Error(`${err.message}; ${FORMS}`);
    throw err;
  }
  switch (parsed.kind) {
    case 'artifacts':
      throw new Error(`${FORMS}, got ${JSON.stringify(text)}`);
    case 'logged-model':
    case 'run':
      return parsed;
    default:
      checkName(parsed.name);
  }
  if (parsed.kind === 'alias') {
    if (!ALIAS.test(parsed.alias)) throw new Error(`alias ${JSON.stringify(parsed.alias)} may hold only letters, digits, '_' and '-'`);
    return { kind: 'alias', name: parsed.name, alias: parsed.alias, text };
  }
  if (parsed.kind === 'version') {
    // why: src/mlflow/uri.ts normalises "007" to "7"; "0" is not a version MLflow ever assigns.
    if (!VERSION.test(parsed.version)) throw new Error(`version ${JSON.stringify(parsed.version)} must be a positive integer`);
    return { kind: 'version', name: parsed.name, version: parsed.version, text };
  }
  return parsed;
}

function checkName(name: string): void {
  if (!NAME.test(name) || name.includes('..')) {
    throw new Error(`model name ${JSON.stringify(name)} may hold only letters, digits, '.', '_' and '-'`);
  }
}

/** The deprecation warning of a stage or latest URI, to log at start-up. */
export function modelUriWarning(uri: ModelUri): string | undefined {
  return 'warning' in uri ? uri.warning : undefined;
}
