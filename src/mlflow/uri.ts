/**
 * Parsing of the model URIs that point at a remote MLflow server, following MLflow's own grammar
 * (mlflow/store/artifact/utils/models.py `_parse_model_uri`, docs/mlflow-rest-contract.md, "Resolving a model URI"):
 *   models:/<name>@<alias>        alias (split at the last '@'); `@latest` is treated as /latest
 *   models:/<name>/<version>      all digits
 *   models:/<name>/latest         latest version in any stage (deprecated with stages)
 *   models:/<name>/<stage>        anything else, matched case-insensitively by the server (deprecated)
 *   models:/<model_id>            one segment, no '@': an MLflow 3 logged model (m-<32 hex>)
 *   runs:/<run_id>/<path>         a model logged under a run
 *   mlflow-artifacts:/<path>      a directory in the server's artifact proxy
 * `file:` and plain paths belong to the embedded registry (model-uri.ts), not here.
 */

export type MlflowModelUri =
  | { readonly kind: 'alias'; readonly name: string; readonly alias: string; readonly text: string }
  | { readonly kind: 'version'; readonly name: string; readonly version: string; readonly text: string }
  | { readonly kind: 'stage'; readonly name: string; readonly stage: string; readonly text: string; readonly warning: string }
  | { readonly kind: 'latest'; readonly name: string; readonly text: string; readonly warning: string }
  | { readonly kind: 'logged-model'; readonly modelId: string; readonly text: string }
  | { readonly kind: 'run'; readonly runId: string; readonly path: string; readonly text: string }
  | { readonly kind: 'artifacts'; readonly artifactUri: string; readonly text: string };

const STAGES_DEPRECATED = 'MLflow deprecated model registry stages in 2.9.0; point MODEL_URI at an alias instead (models:/<name>@<alias>)';
// why: MLflow's server refuses these characters in artifact paths (validate_path_is_safe); refusing them
// here gives the error before any request is made.
const UNSAFE_PATH = /(^|\/)\.\.(\/|$)|\\|#|^\//;
const RUN_ID = /^[A-Za-z0-9_-]+$/;

export class MlflowUriError extends Error {
  override readonly name = 'MlflowUriError';
}

/** True for the URI schemes this module parses (so a caller can route other URIs elsewhere). */
export function isMlflowUri(text: string): boolean {
  return /^(models|runs|mlflow-artifacts):/.test(text.trim());
}

export function parseMlflowUri(input: string): MlflowModelUri {
  const text = input.trim();
  if (text.startsWith('models:')) return parseModels(text);
  if (text.startsWith('runs:')) return parseRuns(text);
  if (text.startsWith('mlflow-artifacts:')) return { kind: 'artifacts', artifactUri: text.replace(/\/+$/, ''), text };
  throw new MlflowUriError(
    `unsupported model URI ${JSON.stringify(text)}: expected models:/<name>@<alias>, models:/<name>/<version>, ` +
      'models:/<name>/<stage>, models:/<model_id>, runs:/<run_id>/<path> or mlflow-artifacts:/<path>',
  );
}

function parseModels(text: string): MlflowModelUri {
  const bad = (why: string) => new MlflowUriError(`Not a proper models:/ URI: ${JSON.stringify(text)} (${why})`);
  const path = text.slice('models:'.length);
  // why: MLflow accepts models:/x and models:///x alike once the netloc is empty; a netloc
  // (models://profile/x) names a Databricks workspace, which is out of scope.
  if (!path.startsWith('/') || (path.startsWith('//') && !path.startsWith('///'))) {
    throw bad('the path must start with a single "/"; a registry host belongs in MLFLOW_TRACKING_URI');
  }
  const parts = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  if (parts.length > 2) throw bad('sub-paths inside a model are not supported; name the model itself');
  const [first, second] = parts;
  if (!first) throw bad('no model name');
  if (second === undefined) {
    const at = first.lastIndexOf('@');
    if (at < 0) return { kind: 'logged-model', modelId: first, text };
    const name = first.slice(0, at);
    const alias = first.slice(at + 1);
    if (!name || !alias) throw bad('expected <name>@<alias>');
    if (alias.toLowerCase() === 'latest') {
      // why: the server answers @latest with the first per-stage latest version, not the highest
      // version number (docs/mlflow-rest-contract.md, "Resolving a model URI"), so it is resolved like /latest.
      return { kind: 'latest', name, text, warning: `${text}: "latest" is resolved as the highest version number; ${STAGES_DEPRECATED}` };
    }
    return { kind: 'alias', name, alias, text };
  }
  if (first.includes('@')) throw bad('an alias cannot be followed by a version or stage');
  if (!second) throw bad('empty version or stage');
  if (/^[0-9]+$/.test(second)) return { kind: 'version', name: first, version: String(Number(second)), text };
  if (second.toLowerCase() === 'latest') {
    return { kind: 'latest', name: first, text, warning: `${text}: ${STAGES_DEPRECATED}` };
  }
  return { kind: 'stage', name: first, stage: second, text, warning: `${text}: ${STAGES_DEPRECATED}` };
}

function parseRuns(text: string): MlflowModelUri {
  const m = /^runs:\/+([^/]+)(?:\/(.*))?$/.exec(text);
  if (!m || !RUN_ID.test(m[1])) {
    throw new MlflowUriError(`Not a proper runs:/ URI: ${JSON.stringify(text)} (expected runs:/<run_id>/<path>)`);
  }
  const path = (m[2] ?? '').replace(/\/+$/, '');
  if (UNSAFE_PATH.test(path)) throw new MlflowUriError(`runs:/ URI ${JSON.stringify(text)} has an unsafe artifact path`);
  return { kind: 'run', runId: m[1], path, text };
}

/** Joins artifact path segments with single slashes, refusing traversal. */
export function joinArtifactPath(...parts: string[]): string {
  const joined = parts
    .filter((p) => p !== '')
    .join('/')
    .replace(/\/{2,}/g, '/')
    .replace(/^\/|\/$/g, '');
  if (UNSAFE_PATH.test(joined)) throw new MlflowUriError(`unsafe artifact path ${JSON.stringify(joined)}`);
  return joined;
}
