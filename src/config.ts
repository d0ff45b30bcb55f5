/**
 * Service configuration: every setting comes from the environment, is parsed once here at start-up,
 * and travels as a typed object. Nothing else reads process.env.
 */
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import type { MlflowClientOptions } from './mlflow/client.js';
import { MLFLOW_HTTP_DEFAULTS } from './mlflow/http.js';
import { FILE_REGISTRY_KINDS, REGISTRY_KINDS, parseModelUri } from './registry/model-uri.js';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** "512kb", "1mb", "1048576" → bytes. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]);
  return bytes > 0 ? bytes : undefined;
}

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const milliseconds = z.coerce
  .number({ error: 'expected a number of milliseconds' })
  .int({ error: 'expected a whole number of milliseconds' })
  .min(0, { error: 'expected 0 or more milliseconds' })
  .max(3_600_000, { error: 'expected at most 3600000 ms (one hour)' });

/**
 * MLflow's own client variables (same names, defaults and limits as MLflow's Python client, contract
 * docs/mlflow-rest-contract.md, "Credentials, timeouts and retries"); read only when REGISTRY_URI is http(s)://. Shared with the training CLI (loadMlflowOptions).
 */
const MlflowSchema = z.object({
  /** The tracking server; REGISTRY_URI defaults to it. */
  MLFLOW_TRACKING_URI: z.string().optional(),
  /** Bearer token. Basic credentials win when both are set, as in MLflow. */
  MLFLOW_TRACKING_TOKEN: z.string().optional(),
  MLFLOW_TRACKING_USERNAME: z.string().optional(),
  MLFLOW_TRACKING_PASSWORD: z.string().optional(),
  /** Per-request idle timeout, seconds. */
  MLFLOW_HTTP_REQUEST_TIMEOUT: z.coerce
    .number({ error: 'expected seconds > 0' })
    .gt(0, { error: 'expected seconds > 0' })
    .default(MLFLOW_HTTP_DEFAULTS.timeoutMs / 1000),
  /** Retries after the first attempt. */
  MLFLOW_HTTP_REQUEST_MAX_RETRIES: z.coerce
    .number({ error: 'expected an integer from 0 to 10' })
    .int({ error: 'expected an integer from 0 to 10' })
    .min(0, { error: 'expected an integer from 0 to 10' })
    .max(10, { error: 'expected an integer from 0 to 10' })
    .default(MLFLOW_HTTP_DEFAULTS.maxRetries),
  /** Exponential backoff factor, seconds. */
  MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: z.coerce
    .number({ error: 'expected seconds from 0 to 120' })
    .min(0, { error: 'expected seconds from 0 to 120' })
    .max(120, { error: 'expected seconds from 0 to 120' })
    .default(MLFLOW_HTTP_DEFAULTS.backoffFactor),
  /** Random delay added per retry, seconds. */
  MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: z.coerce
    .number({ error: 'expected seconds ≥ 0' })
    .min(0, { error: 'expected seconds ≥ 0' })
    .default(MLFLOW_HTTP_DEFAULTS.backoffJitter),
});

const Schema = MlflowSchema.extend({
  /** TCP port; 0 picks a free one (tests). The course's clients call 9696. */
  PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int({ error: 'expected a whole port number' })
    .min(0, { error: 'expected a port from 0 to 65535' })
    .max(65535, { error: 'expected a port from 0 to 65535' })
    .default(9696),
  /** Interface to bind; 0.0.0.0 so that containers are reachable. */
  HOST: z.string().min(1, { error: 'expected a host name or address' }).default('0.0.0.0'),
  /** Which model to serve: models:/<name>@<alias> (or /<version>, /<stage>, /latest), runs:/…, file:<dir>, http(s)://… (README, "Registries"). */
  // why: parsed once here; everything downstream gets the typed ModelUri (its `text` is the variable as given).
  MODEL_URI: z
    .string()
    .default('models:/taxi-ride-duration@production')
    .transform((value, ctx) => {
      try {
        return parseModelUri(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * Where models:/ and runs:/ URIs are looked up: file:<dir> is the registry embedded in the repo (relative
   * to the working directory), http(s):// an MLflow tracking server. Defaults to MLFLOW_TRACKING_URI, then file:models.
   */
  REGISTRY_URI: z
    .string()
    .default('file:models')
    .refine((v) => /^file:.+/.test(v) || /^https?:\/\/.+/.test(v), {
      error: 'expected file:<directory> or an http(s):// URL',
    }),
  /** Downloaded model versions (sha256-checked), so a registry outage at start-up can be ridden out. */
  MODEL_CACHE_DIR: z.string().min(1).default(join(tmpdir(), 'taxi-ride-duration-models')),
  /** Versions kept in the cache per model name. */
  MODEL_CACHE_KEEP: z.coerce
    .number({ error: 'expected a number of versions' })
    .int({ error: 'expected a whole number of versions' })
    .min(1, { error: 'expected at least 1' })
    .max(100, { error: 'expected at most 100' })
    .default(3),
  /**
   * A challenger model beside the champion (docs/experiments.md), any form MODEL_URI takes, e.g.
   * models:/taxi-ride-duration@challenger; unset = no experiment. Loaded, cached, polled and hot-swapped like
   * MODEL_URI but independently: its failures never affect an answer or readiness.
   */
  CHALLENGER_URI: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      try {
        return parseModelUri(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** shadow: the champion answers, the challenger predicts the same trips off the response path; split: CHALLENGER_PERCENT of rides are answered by it. */
  CHALLENGER_MODE: z.enum(['shadow', 'split'], { error: 'expected shadow or split' }).default('shadow'),
  /** split: the share of rides (by a stable hash of the ride id) the challenger answers, 0–100, to 0.01. */
  CHALLENGER_PERCENT: z.coerce
    .number({ error: 'expected a percentage' })
    .min(0, { error: 'expected a percentage from 0 to 100' })
    .max(100, { error: 'expected a percentage from 0 to 100' })
    .default(10),
  /** How often to ask the registry whether the alias moved; 0 turns polling off. */
  MODEL_POLL_INTERVAL_S: z.coerce
    .number({ error: 'expected a number of seconds' })
    .min(0, { error: 'expected 0 (off) or more seconds' })
    .max(86_400, { error: 'expected at most 86400 s (one day)' })
    .default(30),
  /** Bearer token for POST /admin/reload; unset = the route does not exist. */
  ADMIN_TOKEN: z.string().min(16, { error: 'expected at least 16 characters (e.g. openssl rand -hex 32)' }).optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  /** Human-readable logs for a terminal (needs the pino-pretty dev dependency); JSON otherwise. */
  LOG_PRETTY: booleanText.default(false),
  /**
   * Request log lines collected before one write to stdout (flushed at least every LOG_FLUSH_MS, before
   * any other line, and on exit); 0 = a write per line. why: docs/performance.md (the request log).
   */
  LOG_BUFFER_BYTES: z.coerce
    .number({ error: 'expected a number of bytes' })
    .int({ error: 'expected a whole number of bytes' })
    .min(0, { error: 'expected 0 or more' })
    .max(16_000, { error: 'expected at most 16000 (one write of stdout)' })
    .default(4096),
  /** Longest a buffered request log line waits for its write, in ms. */
  LOG_FLUSH_MS: z.coerce
    .number({ error: 'expected a number of milliseconds' })
    .int({ error: 'expected a whole number of milliseconds' })
    .min(10, { error: 'expected at least 10 ms' })
    .max(10_000, { error: 'expected at most 10000 ms' })
    .default(250),
  /** Largest accepted request body, e.g. 2mb; larger bodies get 413. */
  BODY_LIMIT: z
    .string()
    .default('2mb')
    .transform((text, ctx) => {
      const bytes = parseByteSize(text);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a size such as 512kb, 2mb or a number of bytes' });
        return z.NEVER;
      }
      return bytes;
    }),
  /** Most trips in one batch request; more get 413. */
  MAX_BATCH: z.coerce
    .number({ error: 'expected a number of trips' })
    .int({ error: 'expected a whole number of trips' })
    .min(1, { error: 'expected at least 1' })
    .max(1_000_000, { error: 'expected at most 1000000' })
    .default(10_000),
  /**
   * OTLP/HTTP collector base URL (the standard OpenTelemetry variable): spans go to `<url>/v1/traces`.
   * Unset: tracing is off and the OpenTelemetry packages are never loaded (docs/operations.md, "Tracing").
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .refine((u) => /^https?:\/\/[^\s]+$/.test(u), { error: 'expected an http(s) URL such as http://otel-collector:4318' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** The `service.name` resource attribute of exported spans. */
  OTEL_SERVICE_NAME: z.string().min(1).default('taxi-ride-duration'),
  /** Browser origins allowed to call the API (comma-separated); empty = CORS off. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((text) =>
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .refine((origins) => origins.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), {
      error: 'expected a comma-separated list of origins such as https://app.example.com (no path), or *',
    }),
  /** The demo page at GET / (zone names, a prediction, the curl line); false answers 404 there. */
  DEMO_PAGE: booleanText.default(true),
  /**
   * Most requests to /predict in progress at once in this process (each worker, once WORKERS > 1);
   * beyond it, 503 with Retry-After at once instead of a growing queue. 0 = no limit. Probes and
   * /metrics are never limited.
   */
  MAX_IN_FLIGHT: z.coerce
    .number({ error: 'expected a number of requests' })
    .int({ error: 'expected a whole number of requests' })
    .min(0, { error: 'expected 0 (no limit) or more' })
    .max(1_000_000, { error: 'expected at most 1000000' })
    .default(256),
  /** Time a client gets to send a request's headers (slowloris guard); idle keep-alive time does not count. */
  HEADERS_TIMEOUT_MS: milliseconds.min(100, { error: 'expected at least 100 ms' }).default(10_000),
  /** Time a client gets to send a whole request, headers and body; 0 = no limit. */
  REQUEST_TIMEOUT_MS: milliseconds.default(30_000),
  /** After SIGTERM: how long to keep serving while load balancers notice /readyz is 503. */
  SHUTDOWN_DRAIN_MS: milliseconds.default(5000),
  /** After the drain: how long in-flight requests get to finish before the process gives up on them. */
  SHUTDOWN_TIMEOUT_MS: milliseconds.default(30_000),
  /** Processes serving the port (node:cluster): a number, or `auto` = os.availableParallelism(). 1 = no cluster. */
  WORKERS: z
    .string()
    .default('1')
    .transform((text, ctx) => {
      if (text.trim().toLowerCase() === 'auto') return availableParallelism();
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1 || n > 256) {
        ctx.addIssue({ code: 'custom', message: 'expected auto or a whole number of workers from 1 to 256' });
        return z.NEVER;
      }
      return n;
    }),
  /**
   * How concurrent requests share model runs: `adaptive` (default) runs an idle model at once and joins
   * whatever queued behind a run in flight into the next one; `delay` is the fixed-delay micro-batcher
   * (MICROBATCH_*); `off` runs every request alone. Setting MICROBATCH_MAX_SIZE > 1 selects `delay`.
   */
  BATCHING: z.enum(['adaptive', 'delay', 'off'], { error: 'expected adaptive, delay or off' }).optional(),
  /** Adaptive batching: most trips in one coalesced run (a larger request runs alone). */
  BATCH_MAX_ROWS: z.coerce
    .number({ error: 'expected a number of trips' })
    .int({ error: 'expected a whole number of trips' })
    .min(1, { error: 'expected at least 1' })
    .max(100_000, { error: 'expected at most 100000' })
    .default(512),
  /** Micro-batching: most single-trip requests coalesced into one ONNX run; 1 = off. Formerly MAX_BATCH_SIZE. */
  MICROBATCH_MAX_SIZE: z.coerce
    .number({ error: 'expected a number of trips' })
    .int({ error: 'expected a whole number of trips' })
    .min(1, { error: 'expected at least 1 (1 = micro-batching off)' })
    .max(1024, { error: 'expected at most 1024' })
    .default(1),
  /**
   * Micro-batching: how long the first queued trip waits for others, in µs; 0 = only those that arrived
   * in the same event-loop turn. Formerly MAX_BATCH_DELAY_US.
   */
  MICROBATCH_MAX_DELAY_US: z.coerce
    .number({ error: 'expected a number of microseconds' })
    .int({ error: 'expected a whole number of microseconds' })
    .min(0, { error: 'expected 0 or more microseconds' })
    .max(100_000, { error: 'expected at most 100000 µs (100 ms)' })
    .default(0),
  /** Model monitoring (prediction log, POST /feedback, GET /monitoring, drift); false turns it all off (docs/monitoring.md). */
  MONITORING: booleanText.default(true),
  /** Most predictions kept in memory waiting for their ground truth (per service; the cluster primary holds them). */
  PREDICTION_LOG_MAX: z.coerce
    .number({ error: 'expected a number of rides' })
    .int({ error: 'expected a whole number of rides' })
    .min(1, { error: 'expected at least 1' })
    .max(10_000_000, { error: 'expected at most 10000000' })
    .default(200_000),
  /** How long a prediction waits for its feedback (memory and Redis), seconds. */
  FEEDBACK_TTL_S: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int({ error: 'expected a whole number of seconds' })
    .min(1, { error: 'expected at least 1 s' })
    .max(30 * 86_400, { error: 'expected at most 2592000 s (30 days)' })
    .default(7200),
  /** Shared prediction log (redis:// or rediss://): feedback matches across replicas and restarts. Unset = in memory. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, { error: 'expected a redis:// or rediss:// URL' })
    .optional(),
  /** Longest wait for one Redis command; the prediction path never waits for Redis at all. */
  REDIS_TIMEOUT_MS: milliseconds
    .min(10, { error: 'expected at least 10 ms' })
    .max(60_000, { error: 'expected at most 60000 ms' })
    .default(500),
  /** Length of the drift window, by pickup time (arrival time for trips without one), seconds. */
  DRIFT_WINDOW_S: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int({ error: 'expected a whole number of seconds' })
    .min(240, { error: 'expected at least 240 s' })
    .max(30 * 86_400, { error: 'expected at most 2592000 s (30 days)' })
    .default(86_400),
  /** No drift verdict while the window holds fewer trips than this. */
  DRIFT_MIN_TRIPS: z.coerce
    .number({ error: 'expected a number of trips' })
    .int({ error: 'expected a whole number of trips' })
    .min(1, { error: 'expected at least 1' })
    .max(10_000_000, { error: 'expected at most 10000000' })
    .default(1000),
});

/** Names of Redis streams and groups: printable, no spaces (they also appear in metric labels and logs). */
const redisName = z.string().regex(/^[\x21-\x7e]{1,200}$/, { error: 'expected 1 to 200 printable characters without spaces' });

/**
 * The stream consumer (src/stream.ts, docs/streaming.md): the model and registry settings of the
 * service, plus its own. Parsed by loadStreamConfig.
 */
const StreamSchema = MlflowSchema.extend(
  Schema.pick({
    HOST: true,
    MODEL_URI: true,
    REGISTRY_URI: true,
    MODEL_CACHE_DIR: true,
    MODEL_CACHE_KEEP: true,
    MODEL_POLL_INTERVAL_S: true,
    LOG_LEVEL: true,
    LOG_PRETTY: true,
    LOG_BUFFER_BYTES: true,
    LOG_FLUSH_MS: true,
    SHUTDOWN_TIMEOUT_MS: true,
  }).shape,
).extend({
  /** The Redis server holding the streams: redis://[user:password@]host:port[/db], or rediss:// for TLS. */
  REDIS_URL: z
    .string({ error: 'is required: the Redis server, e.g. redis://redis:6379' })
    .refine((v) => /^rediss?:\/\/[^\s/]+(\/\d+)?$/.test(v), { error: 'expected redis://[user:password@]host:port[/db] or rediss://…' }),
  /** Stream the ride events are read from. */
  EVENTS_STREAM: redisName.default('ride_events'),
  /** Stream the predictions are written to (the course's name for the output). */
  PREDICTIONS_STREAM_NAME: redisName.default('ride_predictions'),
  /** Where entries that cannot be predicted go, with the error. */
  DEAD_LETTER_STREAM: redisName.default('ride_events_dlq'),
  /** Consumer group shared by all replicas; created at the stream's end ($) when missing. */
  CONSUMER_GROUP: redisName.default('ride-duration'),
  /** This consumer's name in the group; unique per process. Default: <host>-<pid>. */
  CONSUMER_NAME: redisName.default(() => `${hostname()}-${process.pid}`),
  /** Most entries read, predicted and committed together. */
  STREAM_BATCH: z.coerce
    .number({ error: 'expected a number of entries' })
    .int({ error: 'expected a whole number of entries' })
    .min(1, { error: 'expected at least 1' })
    .max(10_000, { error: 'expected at most 10000' })
    .default(500),
  /** Entries another consumer has held unacknowledged this long are claimed (XAUTOCLAIM): a dead consumer's batch. */
  STREAM_CLAIM_IDLE_MS: milliseconds.min(100, { error: 'expected at least 100 ms' }).default(30_000),
  /** Approximate length the prediction stream is trimmed to on each write (XADD MAXLEN ~); 0 = never trimmed. */
  PREDICTIONS_MAXLEN: z.coerce
    .number({ error: 'expected a number of entries' })
    .int({ error: 'expected a whole number of entries' })
    .min(0, { error: 'expected 0 (no trimming) or more' })
    .default(1_000_000),
  /**
   * How long a ride id is remembered as predicted, so the same ride sent again within it gets no second
   * prediction. Redelivered entries never do, whatever this is (docs/streaming.md, "Exactly once").
   */
  STREAM_DEDUPE_TTL_S: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int({ error: 'expected a whole number of seconds' })
    .min(60, { error: 'expected at least 60 s' })
    .max(30 * 86_400, { error: 'expected at most 2592000 s (30 days)' })
    .default(3600),
  /** Port of the consumer's /metrics, /healthz and /readyz; 0 picks a free one (tests). */
  METRICS_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int({ error: 'expected a whole port number' })
    .min(0, { error: 'expected a port from 0 to 65535' })
    .max(65535, { error: 'expected a port from 0 to 65535' })
    .default(9697),
});

/** Every setting's name, in schema order; docs/configuration.md documents each (tests/docs/configuration.test.ts). */
export const CONFIG_KEYS = [...new Set([...Object.keys(Schema.shape), ...Object.keys(StreamSchema.shape)])] as readonly string[];

export type Config = Omit<z.output<typeof Schema>, 'BATCHING'> & {
  BATCHING: 'adaptive' | 'delay' | 'off';
  /** MLflow client options (credentials, timeout, retries) when REGISTRY_URI is http(s)://. */
  MLFLOW: MlflowClientOptions | undefined;
  /** One sentence per deprecated variable that was set; the runner logs them as warnings. */
  deprecations: readonly string[];
};

/** Old names that keep working, mapped to the names that replaced them. */
const RENAMED: Readonly<Record<string, string>> = {
  MAX_BATCH_SIZE: 'MICROBATCH_MAX_SIZE',
  MAX_BATCH_DELAY_US: 'MICROBATCH_MAX_DELAY_US',
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment. Throws a ConfigError whose message is one line naming each bad variable,
 * e.g. `invalid configuration: PORT=abc: expected a port number`.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = presentVariables(env);
  if (present.REGISTRY_URI === undefined && present.MLFLOW_TRACKING_URI !== undefined) present.REGISTRY_URI = present.MLFLOW_TRACKING_URI;
  const deprecations: string[] = [];
  for (const [old, current] of Object.entries(RENAMED)) {
    if (present[old] === undefined) continue;
    if (present[current] === undefined) {
      present[current] = present[old];
      deprecations.push(`${old} is deprecated; use ${current} (same meaning)`);
    } else {
      deprecations.push(`${old} is deprecated and ignored: ${current} is set too`);
    }
    delete present[old];
  }
  // why jitless, here and below: a schema parsed once per process gains nothing from the parser zod
  // compiles on an object schema's first parse, which took ≈ 5 ms of each start (docs/performance.md, "Start-up").
  const result = Schema.safeParse(present, { jitless: true });
  if (result.success) {
    const { HEADERS_TIMEOUT_MS: headers, REQUEST_TIMEOUT_MS: request } = result.data;
    // why: node:http refuses a headers timeout longer than the whole-request timeout.
    if (request > 0 && headers > request) {
      throw new ConfigError(`invalid configuration: HEADERS_TIMEOUT_MS=${headers}: expected at most REQUEST_TIMEOUT_MS (${request})`);
    }
    const parsed = result.data;
    const batching = parsed.BATCHING ?? (parsed.MICROBATCH_MAX_SIZE > 1 ? 'delay' : 'adaptive');
    if (batching === 'delay' && parsed.MICROBATCH_MAX_SIZE < 2) {
      throw new ConfigError('invalid configuration: BATCHING=delay: needs MICROBATCH_MAX_SIZE of 2 or more');
    }
    return { ...withRegistry(parsed), BATCHING: batching, deprecations };
  }
  throw configError(result.error, env);
}

/**
 * MLflow client options from MLflow's variables in `env` and the tracking server `trackingUri`: for
 * the training CLI's `--registry http(s)://…`. Throws a ConfigError naming the bad variable.
 */
export function loadMlflowOptions(env: Record<string, string | undefined>, trackingUri: string): MlflowClientOptions {
  const result = MlflowSchema.safeParse({ ...presentVariables(env), MLFLOW_TRACKING_URI: trackingUri }, { jitless: true });
  if (!result.success) throw configError(result.error, env);
  return mlflowOptions(result.data, trackingUri);
}

// why: an empty variable (PORT=) means "unset" in shells and compose files, so it gets the default.
function presentVariables(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}

function configError(error: z.ZodError, env: Record<string, string | undefined>): ConfigError {
  const problems = error.issues.map((issue) => {
    const key = String(issue.path[0]);
    const source =
      env[key] === undefined ? (Object.keys(RENAMED).find((old) => RENAMED[old] === key && env[old] !== undefined) ?? key) : key;
    return `${source}=${JSON.stringify(env[source] ?? '')}: ${issue.message}`;
  });
  return new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

export type StreamConfig = z.output<typeof StreamSchema> & {
  /** MLflow client options when REGISTRY_URI is http(s)://. */
  MLFLOW: MlflowClientOptions | undefined;
};

/** The stream consumer's settings; throws a ConfigError naming each bad variable, as loadConfig does. */
export function loadStreamConfig(env: Record<string, string | undefined>): StreamConfig {
  const present = presentVariables(env);
  if (present.REGISTRY_URI === undefined && present.MLFLOW_TRACKING_URI !== undefined) present.REGISTRY_URI = present.MLFLOW_TRACKING_URI;
  const result = StreamSchema.safeParse(present, { jitless: true });
  if (!result.success) throw configError(result.error, env);
  return withRegistry(result.data);
}

function mlflowOptions(parsed: z.output<typeof MlflowSchema>, trackingUri: string): MlflowClientOptions {
  return {
    trackingUri,
    token: parsed.MLFLOW_TRACKING_TOKEN,
    username: parsed.MLFLOW_TRACKING_USERNAME,
    password: parsed.MLFLOW_TRACKING_PASSWORD,
    timeoutMs: parsed.MLFLOW_HTTP_REQUEST_TIMEOUT * 1000,
    maxRetries: parsed.MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    backoffFactor: parsed.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
    backoffJitter: parsed.MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
  };
}

type RegistrySettings = z.output<typeof MlflowSchema> &
  Pick<z.output<typeof Schema>, 'REGISTRY_URI' | 'MODEL_URI'> &
  Partial<Pick<z.output<typeof Schema>, 'CHALLENGER_URI'>>;

/** Cross-checks MODEL_URI and CHALLENGER_URI against the registry and gathers MLflow's client options when it is http(s). */
function withRegistry<T extends RegistrySettings>(parsed: T): T & { MLFLOW: MlflowClientOptions | undefined } {
  const remote = /^https?:\/\//.test(parsed.REGISTRY_URI);
  for (const key of ['MODEL_URI', 'CHALLENGER_URI'] as const) {
    const uri = parsed[key];
    if (uri === undefined) continue;
    if (!remote && REGISTRY_KINDS.has(uri.kind) && !FILE_REGISTRY_KINDS.has(uri.kind)) {
      throw new ConfigError(
        `invalid configuration: ${key}=${JSON.stringify(uri.text)}: the file registry (REGISTRY_URI=${parsed.REGISTRY_URI}) ` +
          'answers models:/<name>@<alias> and models:/<name>/<version> only; stages, latest, logged models and runs:/ need an MLflow registry',
      );
    }
  }
  return { ...parsed, MLFLOW: remote ? mlflowOptions(parsed, parsed.REGISTRY_URI) : undefined };
}
