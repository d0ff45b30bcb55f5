/**
 * Service configuration: every setting comes from the environment, is parsed once here at start-up,
 * and travels as a typed object. Nothing else reads process.env.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { mlflowClientOptionsFromEnv, type MlflowClientOptions } from './registry/mlflow-client.js';
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

const Schema = z.object({
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
  MODEL_URI: z
    .string()
    .default('models:/taxi-ride-duration@production')
    .superRefine((value, ctx) => {
      try {
        parseModelUri(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
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
    .transform((text) => text.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
    .refine((origins) => origins.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), {
      error: 'expected a comma-separated list of origins such as https://app.example.com (no path), or *',
    }),
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
});

/** Every setting's name, in schema order; docs/configuration.md documents each (tests/docs/configuration.test.ts). */
export const CONFIG_KEYS = Object.keys(Schema.shape) as readonly string[];

export type Config = z.infer<typeof Schema> & {
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
  // why: an empty variable (PORT=) means "unset" in shells and compose files, so it gets the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
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
  const result = Schema.safeParse(present);
  if (result.success) {
    const { HEADERS_TIMEOUT_MS: headers, REQUEST_TIMEOUT_MS: request } = result.data;
    // why: node:http refuses a headers timeout longer than the whole-request timeout.
    if (request > 0 && headers > request) {
      throw new ConfigError(`invalid configuration: HEADERS_TIMEOUT_MS=${headers}: expected at most REQUEST_TIMEOUT_MS (${request})`);
    }
    return { ...withRegistry(result.data, present), deprecations };
  }
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0]);
    const source = env[key] === undefined ? (Object.keys(RENAMED).find((old) => RENAMED[old] === key && env[old] !== undefined) ?? key) : key;
    return `${source}=${JSON.stringify(env[source] ?? '')}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/** Cross-checks MODEL_URI against the registry and reads MLflow's own variables when it is http(s). */
function withRegistry(parsed: z.infer<typeof Schema>, env: Record<string, string | undefined>): Omit<Config, 'deprecations'> {
  const uri = parseModelUri(parsed.MODEL_URI);
  const remote = /^https?:\/\//.test(parsed.REGISTRY_URI);
  if (!remote && REGISTRY_KINDS.has(uri.kind) && !FILE_REGISTRY_KINDS.has(uri.kind)) {
    throw new ConfigError(
      `invalid configuration: MODEL_URI=${JSON.stringify(parsed.MODEL_URI)}: the file registry (REGISTRY_URI=${parsed.REGISTRY_URI}) ` +
        'answers models:/<name>@<alias> and models:/<name>/<version> only; stages, latest, logged models and runs:/ need an MLflow registry',
    );
  }
  let mlflow: MlflowClientOptions | undefined;
  if (remote) {
    try {
      mlflow = mlflowClientOptionsFromEnv({ ...env, MLFLOW_TRACKING_URI: parsed.REGISTRY_URI });
    } catch (err) {
      throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
    }
  }
  return { ...parsed, MLFLOW: mlflow };
}
