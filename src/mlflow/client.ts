/**
 * A REST client for MLflow's Model Registry, Tracking and proxied-artifact APIs (no Python). It speaks
 * the wire format of docs/mlflow-rest-contract.md, "Base URL and wire format" (GET fields as query parameters, other methods as a JSON body,
 * DELETE included) and turns every failure into a RegistryError that names what was asked for.
 *
 * Read calls serve the model loader; write calls (docs/mlflow-rest-contract.md, "Logging a run and registering a model") serve the training CLI's `--registry http(s)://`.
 */
import { createArtifactCalls } from './artifacts.js';
import { isRegistryError, notFoundAs, withMessage } from './errors.js';
import { createTransport, MLFLOW_HTTP_DEFAULTS, redact, type FetchLike, type RegistryLogger, type Transport } from './http.js';
import { createMlflowRest } from './rest.js';
import * as S from './schemas.js';
import { createTrackingCalls } from './tracking.js';

export type { ArtifactLocation } from './artifacts.js';
export type { FetchLike, RegistryLogger } from './http.js';
export type { LogBatch } from './tracking.js';
export type { Experiment, FileInfo, LoggedModelInfo, ModelVersion, Run, RunInfo, Tag } from './schemas.js';

export interface MlflowClientOptions {
  /** http(s):// URL of the tracking server; a path prefix (https://host/mlflow) is kept. */
  trackingUri: string;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: FetchLike;
  /** Bearer token (MLFLOW_TRACKING_TOKEN). Basic credentials win when both are set, as in MLflow. */
  token?: string;
  username?: string;
  password?: string;
  /** Per-request idle timeout in ms (MLFLOW_HTTP_REQUEST_TIMEOUT, default 120 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (MLFLOW_HTTP_REQUEST_MAX_RETRIES, default 7). */
  maxRetries?: number;
  /** Seconds (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, default 2). Tests pass tiny values. */
  backoffFactor?: number;
  /** Seconds of random delay added per retry (MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, default 1). */
  backoffJitter?: number;
  logger?: RegistryLogger;
}

export type MlflowClient = ReturnType<typeof createMlflowClient>;

export function createMlflowClient(options: MlflowClientOptions) {
  const base = parseTrackingUri(options.trackingUri);
  const username = options.username ?? (base.username ? decodeURIComponent(base.username) : undefined);
  const password = options.password ?? (base.password ? decodeURIComponent(base.password) : undefined);
  // why: fetch refuses URLs with credentials in them; they move to the Authorization header instead.
  base.username = '';
  base.password = '';
  const authorization =
    username && password
      ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
      : options.token
        ? `Bearer ${options.token}`
        : undefined;
  const transport: Transport = createTransport({
    fetch: options.fetch ?? globalThis.fetch,
    authorization,
    timeoutMs: options.timeoutMs ?? MLFLOW_HTTP_DEFAULTS.timeoutMs,
    maxRetries: options.maxRetries ?? MLFLOW_HTTP_DEFAULTS.maxRetries,
    backoffFactor: options.backoffFactor ?? MLFLOW_HTTP_DEFAULTS.backoffFactor,
    backoffJitter: options.backoffJitter ?? MLFLOW_HTTP_DEFAULTS.backoffJitter,
    logger: options.logger,
  });

  const rest = createMlflowRest(base, transport);
  const { url, get, send } = rest;

  const reads = {
    trackingUri: redact(base).replace(/\/$/, ''),

    /** GET /version: the server's version as plain text (e.g. "3.6.0"). */
    async getServerVersion(): Promise<string> {
      return (await transport.send({ method: 'GET', url: url('/version') })).body.toString('utf8').trim();
    },

    /** The version an alias points at. An unset alias or unknown model is `not_found`, named. */
    async getModelVersionByAlias(name: string, alias: string): Promise<S.ModelVersion> {
      try {
        return (await get(S.ModelVersionReply, 'registered-models/alias', { name, alias })).model_version;
      } catch (err) {
        // why: MLflow answers an unset alias with 400 INVALID_PARAMETER_VALUE, not 404 (docs/mlflow-rest-contract.md, "Resolving a model URI"),
        // and does not check that the model exists; other 400s (an invalid alias name) stay `rejected`.
        if (
          isRegistryError(err) &&
          ((err.code === 'not_found' && err.mlflowCode !== 'ENDPOINT_NOT_FOUND') ||
            (err.mlflowCode === 'INVALID_PARAMETER_VALUE' && /not found/i.test(err.message)))
        ) {
          throw withMessage(
            err,
            'not_found',
            `alias "${alias}" of registered model "${name}" not found: the alias is not set or the model does not exist`,
          );
        }
        throw err;
      }
    },

    async getModelVersion(name: string, version: string): Promise<S.ModelVersion> {
      try {
        return (await get(S.ModelVersionReply, 'model-versions/get', { name, version })).model_version;
      } catch (err) {
        throw notFoundAs(err, `version ${version} of registered model "${name}" not found`);
      }
    },

    /**
     * Latest version per stage (all stages when `stages` is empty); [] when none. POST first, then GET
     * when the server does not know the POST route, as MLflow's client does (docs/mlflow-rest-contract.md, "Resolving a model URI").
     */
    async getLatestVersions(name: string, stages: string[] = []): Promise<S.ModelVersion[]> {
      try {
        try {
          return (await send(S.LatestVersionsReply, 'POST', 'registered-models/get-latest-versions', { name, stages })).model_versions;
        } catch (err) {
          if (!isRegistryError(err) || err.mlflowCode !== 'ENDPOINT_NOT_FOUND') throw err;
          return (await get(S.LatestVersionsReply, 'registered-models/get-latest-versions', { name, stages })).model_versions;
        }
      } catch (err) {
        throw notFoundAs(err, `registered model "${name}" not found`);
      }
    },

    /** Where the version's files are stored (the logged model's location for MLflow 3 versions). */
    async getDownloadUri(name: string, version: string): Promise<string> {
      try {
        return (await get(S.DownloadUriReply, 'model-versions/get-download-uri', { name, version })).artifact_uri;
      } catch (err) {
        throw notFoundAs(err, `version ${version} of registered model "${name}" not found`);
      }
    },

    async getRun(runId: string): Promise<S.Run> {
      try {
        return (await get(S.RunReply, 'runs/get', { run_id: runId })).run;
      } catch (err) {
        throw notFoundAs(err, `run ${runId} not found`);
      }
    },

    /** MLflow 3 logged model. A 2.x server has no such route (HTML 404): also `not_found`, said so. */
    async getLoggedModel(modelId: string): Promise<S.LoggedModelInfo> {
      try {
        return (await get(S.LoggedModelReply, `logged-models/${encodeURIComponent(modelId)}`, {})).model.info;
      } catch (err) {
        if (isRegistryError(err, 'not_found') && err.mlflowCode === 'ENDPOINT_NOT_FOUND') {
          throw withMessage(
            err,
            'not_found',
            `logged model ${modelId}: the server has no logged-models endpoint (MLflow 3 is needed for models:/m-<id> URIs)`,
          );
        }
        throw notFoundAs(err, `logged model ${modelId} not found`);
      }
    },
  };
  return { ...reads, ...createArtifactCalls(rest), ...createTrackingCalls(rest) };
}

function parseTrackingUri(text: string): URL {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    throw new Error(`MLflow tracking URI ${JSON.stringify(text)} is not a URL (expected http(s)://host[:port][/prefix])`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`MLflow tracking URI ${JSON.stringify(text)}: only http:// and https:// tracking servers are supported`);
  }
  u.search = '';
  u.hash = '';
  u.pathname = u.pathname.replace(/\/+$/, '');
  return u;
}
