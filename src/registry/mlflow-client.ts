/**
 * A REST client for MLflow's Model Registry, Tracking and proxied-artifact APIs (no Python). It speaks
 * the wire format of contract §0.3 (GET fields as query parameters, other methods as a JSON body,
 * DELETE included) and turns every failure into a RegistryError that names what was asked for.
 *
 * Read calls serve the model loader; write calls (§5) serve the training CLI's `--registry http(s)://`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { RegistryError, isRegistryError } from './mlflow-errors.js';
import { createTransport, redact, type FetchLike, type HttpRequest, type RegistryLogger, type Transport } from './mlflow-http.js';
import * as S from './mlflow-schemas.js';
import { joinArtifactPath } from './mlflow-uri.js';

export type { FetchLike, RegistryLogger } from './mlflow-http.js';
export type { Experiment, FileInfo, LoggedModelInfo, ModelVersion, Run, RunInfo, Tag } from './mlflow-schemas.js';

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

/** MLflow's defaults (contract §4.2, MLflow ≥ 2.20: 7 retries). */
export const MLFLOW_HTTP_DEFAULTS = { timeoutMs: 120_000, maxRetries: 7, backoffFactor: 2, backoffJitter: 1 } as const;
const MAX_RETRIES_LIMIT = 10;
const MAX_BACKOFF_FACTOR_LIMIT = 120;

/** Reads MLflow's own environment variables. Throws on a malformed value, naming the variable. */
export function mlflowClientOptionsFromEnv(env: NodeJS.ProcessEnv): MlflowClientOptions {
  const trackingUri = env.MLFLOW_TRACKING_URI?.trim();
  if (!trackingUri) throw new Error('MLFLOW_TRACKING_URI is not set (expected the http(s):// URL of the MLflow tracking server)');
  const num = (key: string, fallback: number, check: (n: number) => boolean, expected: string) => {
    const raw = env[key]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || !check(n)) throw new Error(`${key}=${JSON.stringify(raw)}: expected ${expected}`);
    return n;
  };
  return {
    trackingUri,
    token: env.MLFLOW_TRACKING_TOKEN || undefined,
    username: env.MLFLOW_TRACKING_USERNAME || undefined,
    password: env.MLFLOW_TRACKING_PASSWORD || undefined,
    timeoutMs: num('MLFLOW_HTTP_REQUEST_TIMEOUT', MLFLOW_HTTP_DEFAULTS.timeoutMs / 1000, (n) => n > 0, 'seconds > 0') * 1000,
    maxRetries: num('MLFLOW_HTTP_REQUEST_MAX_RETRIES', MLFLOW_HTTP_DEFAULTS.maxRetries,
      (n) => Number.isInteger(n) && n >= 0 && n <= MAX_RETRIES_LIMIT, `an integer from 0 to ${MAX_RETRIES_LIMIT}`),
    backoffFactor: num('MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', MLFLOW_HTTP_DEFAULTS.backoffFactor,
      (n) => n >= 0 && n <= MAX_BACKOFF_FACTOR_LIMIT, `seconds from 0 to ${MAX_BACKOFF_FACTOR_LIMIT}`),
    backoffJitter: num('MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', MLFLOW_HTTP_DEFAULTS.backoffJitter, (n) => n >= 0, 'seconds ≥ 0'),
  };
}

/**
 * Where a directory of artifacts can be read. `proxy`: the server's artifact proxy
 * (`<api>/<path>`, listing with `?path=`). `run`: a run's artifacts read by the tracking server itself
 * (artifacts/list + /get-artifact), the fallback for stores the service cannot reach (s3:// without
 * credentials here).
 */
export type ArtifactLocation =
  | { readonly kind: 'proxy'; readonly api: string; readonly path: string }
  | { readonly kind: 'run'; readonly runId: string; readonly path: string };

export interface LogBatch {
  params?: Record<string, string | number | boolean>;
  /** Each metric: a value, or a value with its step and timestamp (ms; default now). */
  metrics?: Record<string, number | { value: number; step?: number; timestamp?: number }>;
  tags?: Record<string, string>;
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

  /** `<tracking uri><path>` with single slashes, and query fields (arrays repeat the key). */
  const url = (path: string, query: Record<string, string | string[] | undefined> = {}) => {
    const u = new URL(base);
    u.pathname = `${u.pathname}/${path}`.replace(/\/{2,}/g, '/');
    for (const [key, value] of Object.entries(query)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) u.searchParams.append(key, v);
    }
    return u;
  };

  const call = async <T extends z.ZodTypeAny>(schema: T, req: HttpRequest): Promise<z.infer<T>> => {
    const reply = await transport.send(req);
    const text = reply.body.toString('utf8').trim();
    let json: unknown = {};
    // why: MLflow's client reads an empty 200 or the text "200 OK" as {} (contract §0.3).
    if (text !== '' && text !== '200 OK') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new RegistryError('bad_response', `${req.method} ${redact(req.url)} answered ${reply.status} with a body that is not JSON`, {
          status: reply.status, url: redact(req.url),
        });
      }
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RegistryError('bad_response',
        `${req.method} ${redact(req.url)}: unexpected reply (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
        { status: reply.status, url: redact(req.url), cause: parsed.error });
    }
    return parsed.data;
  };
  const get = <T extends z.ZodTypeAny>(schema: T, path: string, query: Record<string, string | string[] | undefined>) =>
    call(schema, { method: 'GET', url: url(`/api/2.0/mlflow/${path}`, query) });
  const send = <T extends z.ZodTypeAny>(schema: T, method: HttpRequest['method'], path: string, json: unknown, retry?: HttpRequest['retry']) =>
    call(schema, { method, url: url(`/api/2.0/mlflow/${path}`), json, retry });
  const Empty = z.object({}).passthrough();

  const client = {
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
        // why: MLflow answers an unset alias with 400 INVALID_PARAMETER_VALUE, not 404 (contract §1.3),
        // and does not check that the model exists; other 400s (an invalid alias name) stay `rejected`.
        if (isRegistryError(err) && ((err.code === 'not_found' && err.mlflowCode !== 'ENDPOINT_NOT_FOUND') || (err.mlflowCode === 'INVALID_PARAMETER_VALUE' && /not found/i.test(err.message)))) {
          throw rename(err, 'not_found', `alias "${alias}" of registered model "${name}" not found: the alias is not set or the model does not exist`);
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
     * when the server does not know the POST route, as MLflow's client does (contract §1.5).
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
          throw rename(err, 'not_found', `logged model ${modelId}: the server has no logged-models endpoint (MLflow 3 is needed for models:/m-<id> URIs)`);
        }
        throw notFoundAs(err, `logged model ${modelId} not found`);
      }
    },

    /** Maps an artifact URI to where we can read it; undefined for stores only the server can read. */
    artifactLocation(artifactUri: string): ArtifactLocation | undefined {
      return proxyLocation(base, artifactUri);
    },

    /**
     * Lists one directory level under `location`/`subPath`. Returned paths are relative to `location`
     * (e.g. `sub/b.txt`), whichever API served them, and checked against traversal.
     */
    async listArtifacts(location: ArtifactLocation, subPath = ''): Promise<S.FileInfo[]> {
      const dir = joinArtifactPath(location.path, subPath);
      let files: S.FileInfo[];
      if (location.kind === 'proxy') {
        const reply = await call(S.ProxyListReply, { method: 'GET', url: withQuery(location.api, { path: dir || undefined }) });
        files = reply.files.map((f) => ({ ...f, path: joinArtifactPath(subPath, checkName(f.path)) }));
      } else {
        files = [];
        let pageToken: string | undefined;
        do {
          const reply = await get(S.RunListReply, 'artifacts/list', { run_id: location.runId, path: dir || undefined, page_token: pageToken });
          for (const f of reply.files) {
            // why: this API answers run-relative paths including the listed directory (contract §2.4).
            const rel = location.path ? stripPrefix(f.path, location.path) : f.path;
            files.push({ ...f, path: joinArtifactPath(rel) });
          }
          pageToken = reply.next_page_token || undefined;
        } while (pageToken);
      }
      return files.sort((a, b) => a.path.localeCompare(b.path));
    },

    /** Downloads one file to `destFile` (streamed, retried from the start); returns its size. */
    async downloadArtifact(location: ArtifactLocation, relPath: string, destFile: string): Promise<number> {
      const file = joinArtifactPath(location.path, relPath);
      const target = location.kind === 'proxy'
        ? new URL(`${location.api}/${file.split('/').map(encodeURIComponent).join('/')}`)
        : url('/get-artifact', { run_id: location.runId, path: file });
      try {
        return await transport.download(target, destFile);
      } catch (err) {
        // why: a missing file comes back as a 500 without JSON (contract §2.3), which is not worth 7 retries
        // to tell apart from an outage; the message names the file either way.
        throw isRegistryError(err) ? rename(err, err.code, `cannot download artifact ${file}: ${err.message}`) : err;
      }
    },

    /** PUTs one file through the artifact proxy (training CLI). */
    async uploadArtifact(location: ArtifactLocation, relPath: string, bytes: Uint8Array, contentType?: string): Promise<void> {
      if (location.kind !== 'proxy') throw new RegistryError('rejected', 'uploads need the artifact proxy (an mlflow-artifacts: artifact URI)');
      const file = joinArtifactPath(location.path, relPath);
      const target = new URL(`${location.api}/${file.split('/').map(encodeURIComponent).join('/')}`);
      await call(Empty, { method: 'PUT', url: target, body: bytes, contentType: contentType ?? guessContentType(relPath) });
    },

    /** Uploads every file under `localDir` to `location`/`subPath` (e.g. a whole MLflow Model directory). */
    async uploadArtifactDir(location: ArtifactLocation, localDir: string, subPath = ''): Promise<string[]> {
      const uploaded: string[] = [];
      for (const entry of await readdir(localDir, { withFileTypes: true })) {
        const rel = joinArtifactPath(subPath, entry.name);
        if (entry.isDirectory()) uploaded.push(...(await client.uploadArtifactDir(location, join(localDir, entry.name), rel)));
        else if (entry.isFile()) {
          await client.uploadArtifact(location, rel, await readFile(join(localDir, entry.name)));
          uploaded.push(rel);
        }
      }
      return uploaded;
    },

    // ---- Tracking and registration (contract §5.1), for the training CLI ----

    /** The experiment with this name, or undefined when there is none. */
    async getExperimentByName(name: string): Promise<S.Experiment | undefined> {
      try {
        return (await get(S.ExperimentReply, 'experiments/get-by-name', { experiment_name: name })).experiment;
      } catch (err) {
        if (isRegistryError(err, 'not_found') && err.mlflowCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw err;
      }
    },

    /** Finds or creates an active experiment; survives a concurrent creator (RESOURCE_ALREADY_EXISTS). */
    async getOrCreateExperiment(name: string, tags: Record<string, string> = {}): Promise<S.Experiment> {
      let found = await client.getExperimentByName(name);
      if (!found) {
        try {
          await send(S.CreateExperimentReply, 'POST', 'experiments/create', { name, tags: toTags(tags) });
        } catch (err) {
          if (!(isRegistryError(err) && err.mlflowCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
        }
        found = await client.getExperimentByName(name);
      }
      if (!found) throw new RegistryError('bad_response', `experiment "${name}" was created but cannot be read back`);
      if (found.lifecycle_stage && found.lifecycle_stage !== 'active') {
        throw new RegistryError('rejected', `experiment "${name}" (id ${found.experiment_id}) is ${found.lifecycle_stage}; restore it or choose another name`);
      }
      return found;
    },

    async createRun(input: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<S.RunInfo> {
      const reply = await send(S.RunReply, 'POST', 'runs/create', {
        experiment_id: input.experimentId,
        run_name: input.runName,
        start_time: input.startTime ?? Date.now(),
        tags: toTags(input.tags ?? {}),
      });
      return reply.run.info;
    },

    /** Logs params, metrics and tags, split into requests within MLflow's per-request limits. */
    async logBatch(runId: string, batch: LogBatch): Promise<void> {
      const now = Date.now();
      const params = Object.entries(batch.params ?? {}).map(([key, value]) => ({ key, value: String(value) }));
      const tags = toTags(batch.tags ?? {});
      const metrics = Object.entries(batch.metrics ?? {}).map(([key, m]) => {
        const { value, step = 0, timestamp = now } = typeof m === 'number' ? { value: m } : m;
        // why: protobuf JSON carries non-finite doubles as the strings NaN / Infinity / -Infinity.
        const wire = Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : value;
        return { key, value: wire, timestamp, step };
      });
      for (const chunk of chunks(params, 100)) await send(Empty, 'POST', 'runs/log-batch', { run_id: runId, params: chunk });
      for (const chunk of chunks(tags, 100)) await send(Empty, 'POST', 'runs/log-batch', { run_id: runId, tags: chunk });
      for (const chunk of chunks(metrics, 1000)) await send(Empty, 'POST', 'runs/log-batch', { run_id: runId, metrics: chunk });
    },

    async updateRun(runId: string, status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED', endTime = Date.now()): Promise<S.RunInfo> {
      const reply = await send(z.object({ run_info: S.RunInfo.partial().optional() }), 'POST', 'runs/update', {
        run_id: runId, status, end_time: endTime,
      });
      return { run_id: runId, status, end_time: endTime, ...reply.run_info };
    },

    /** Creates the registered model; `created: false` when it already existed (not an error). */
    async createRegisteredModel(name: string, description?: string): Promise<{ created: boolean }> {
      try {
        await send(Empty, 'POST', 'registered-models/create', { name, description });
        return { created: true };
      } catch (err) {
        if (isRegistryError(err) && (err.mlflowCode === 'RESOURCE_ALREADY_EXISTS' || err.mlflowCode === 'ALREADY_EXISTS')) return { created: false };
        throw err;
      }
    },

    /**
     * Registers a new version. Retried only when the server surely did nothing (refused connection,
     * 429, 503): a retried create that had reached the server would register the model twice.
     */
    async createModelVersion(input: { name: string; source: string; runId?: string; tags?: Record<string, string>; description?: string; modelId?: string }): Promise<S.ModelVersion> {
      const reply = await send(S.ModelVersionReply, 'POST', 'model-versions/create', {
        name: input.name, source: input.source, run_id: input.runId, tags: toTags(input.tags ?? {}),
        description: input.description, model_id: input.modelId,
      }, 'refused');
      return reply.model_version;
    },

    /** Points the alias at the version (moves it when already set). */
    async setModelVersionAlias(name: string, alias: string, version: string): Promise<void> {
      await send(Empty, 'POST', 'registered-models/alias', { name, alias, version });
    },

    /** Removes the alias; DELETE with a JSON body, as MLflow reads DELETE parameters from the body. */
    async deleteModelVersionAlias(name: string, alias: string): Promise<void> {
      await send(Empty, 'DELETE', 'registered-models/alias', { name, alias });
    },
  };
  return client;
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

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

/** mlflow-artifacts:[//host]/p and http(s)://…/mlflow-artifacts/artifacts/p → the proxy (contract §2.3). */
function proxyLocation(tracking: URL, artifactUri: string): ArtifactLocation | undefined {
  if (artifactUri.startsWith('mlflow-artifacts:')) {
    const u = new URL(artifactUri);
    const api = new URL(tracking);
    // why: a netloc in the artifact URI replaces the tracking host (MLflow's resolve_uri).
    if (u.host) api.host = u.host;
    api.pathname = `${api.pathname}${PROXY}`.replace(/\/{2,}/g, '/');
    return { kind: 'proxy', api: api.toString().replace(/\/$/, ''), path: joinArtifactPath(decodeURIComponent(u.pathname)) };
  }
  if (/^https?:\/\//.test(artifactUri)) {
    const at = artifactUri.indexOf('/mlflow-artifacts/artifacts');
    if (at < 0) return undefined;
    const end = at + '/mlflow-artifacts/artifacts'.length;
    return { kind: 'proxy', api: artifactUri.slice(0, end), path: joinArtifactPath(decodeURIComponent(artifactUri.slice(end).split('?')[0])) };
  }
  return undefined;
}

function withQuery(api: string, query: Record<string, string | undefined>): URL {
  const u = new URL(api);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
  return u;
}

/** A name in a proxy listing must be one path segment. */
function checkName(name: string): string {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\\')) {
    throw new RegistryError('bad_response', `artifact listing holds an unsafe name ${JSON.stringify(name)}`);
  }
  return name;
}

function stripPrefix(path: string, prefix: string): string {
  const p = prefix.replace(/\/$/, '');
  if (path === p || !path.startsWith(`${p}/`)) throw new RegistryError('bad_response', `artifact ${JSON.stringify(path)} is not under ${p}`);
  return path.slice(p.length + 1);
}

function toTags(tags: Record<string, string>): S.Tag[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function guessContentType(path: string): string {
  if (/(^|\/)(MLmodel|[^/]+\.(txt|ya?ml))$/.test(path)) return 'text/plain';
  if (path.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}

function rename(err: RegistryError, code: RegistryError['code'], message: string): RegistryError {
  return new RegistryError(code, message, { status: err.status, mlflowCode: err.mlflowCode, url: err.url, cause: err });
}

/** A RESOURCE_DOES_NOT_EXIST reply becomes `not_found` with a message naming what was asked for. */
function notFoundAs(err: unknown, message: string): unknown {
  if (isRegistryError(err, 'not_found') && err.mlflowCode !== 'ENDPOINT_NOT_FOUND') return rename(err, 'not_found', message);
  return err;
}
