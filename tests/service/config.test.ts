import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, loadMlflowOptions, parseByteSize } from '../../src/config.js';
import { MLFLOW_HTTP_DEFAULTS } from '../../src/mlflow/http.js';

describe('loadConfig', () => {
  test('When the environment is empty, then the documented defaults apply', () => {
    expect(loadConfig({})).toEqual({
      PORT: 9696,
      HOST: '0.0.0.0',
      MODEL_URI: { kind: 'alias', name: 'taxi-ride-duration', alias: 'production', text: 'models:/taxi-ride-duration@production' },
      REGISTRY_URI: 'file:models',
      MLFLOW_HTTP_REQUEST_TIMEOUT: 120,
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: 7,
      MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: 2,
      MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: 1,
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      LOG_BUFFER_BYTES: 4096,
      LOG_FLUSH_MS: 250,
      BODY_LIMIT: 2 * 1024 * 1024,
      MAX_BATCH: 10_000,
      CORS_ORIGINS: [],
      DEMO_PAGE: true,
      OTEL_SERVICE_NAME: 'taxi-ride-duration',
      SHUTDOWN_DRAIN_MS: 5000,
      SHUTDOWN_TIMEOUT_MS: 30_000,
      MODEL_CACHE_DIR: join(tmpdir(), 'taxi-ride-duration-models'),
      MODEL_CACHE_KEEP: 3,
      MODEL_POLL_INTERVAL_S: 30,
      CHALLENGER_MODE: 'shadow',
      CHALLENGER_PERCENT: 10,
      MLFLOW: undefined,
      MAX_IN_FLIGHT: 256,
      HEADERS_TIMEOUT_MS: 10_000,
      REQUEST_TIMEOUT_MS: 30_000,
      WORKERS: 1,
      BATCHING: 'adaptive',
      BATCH_MAX_ROWS: 512,
      MICROBATCH_MAX_SIZE: 1,
      MICROBATCH_MAX_DELAY_US: 0,
      MONITORING: true,
      PREDICTION_LOG_MAX: 200_000,
      FEEDBACK_TTL_S: 7200,
      REDIS_TIMEOUT_MS: 500,
      DRIFT_WINDOW_S: 86_400,
      DRIFT_MIN_TRIPS: 1000,
      deprecations: [],
    });
  });

  test('When micro-batching is configured, then BATCHING is delay; delay without a size is refused; off is off', () => {
    expect(loadConfig({ MICROBATCH_MAX_SIZE: '64' }).BATCHING).toBe('delay');
    expect(loadConfig({ BATCHING: 'off' }).BATCHING).toBe('off');
    expect(() => loadConfig({ BATCHING: 'delay' })).toThrow('BATCHING=delay: needs MICROBATCH_MAX_SIZE of 2 or more');
    expect(() => loadConfig({ BATCHING: 'sometimes' })).toThrow('BATCHING="sometimes": expected adaptive, delay or off');
  });

  test('When a renamed variable is set, then it keeps working with a deprecation; the new name wins when both are set', () => {
    const old = loadConfig({ MAX_BATCH_SIZE: '64', MAX_BATCH_DELAY_US: '200' });
    expect([old.MICROBATCH_MAX_SIZE, old.MICROBATCH_MAX_DELAY_US]).toEqual([64, 200]);
    expect(old.deprecations).toEqual([
      'MAX_BATCH_SIZE is deprecated; use MICROBATCH_MAX_SIZE (same meaning)',
      'MAX_BATCH_DELAY_US is deprecated; use MICROBATCH_MAX_DELAY_US (same meaning)',
    ]);
    const both = loadConfig({ MAX_BATCH_SIZE: '64', MICROBATCH_MAX_SIZE: '8' });
    expect(both.MICROBATCH_MAX_SIZE).toBe(8);
    expect(both.deprecations).toEqual(['MAX_BATCH_SIZE is deprecated and ignored: MICROBATCH_MAX_SIZE is set too']);
    expect(() => loadConfig({ MAX_BATCH_SIZE: '0' })).toThrow('MAX_BATCH_SIZE="0": expected at least 1');
  });

  test('When WORKERS is auto, then it is the available parallelism; a bad count is refused', () => {
    expect(loadConfig({ WORKERS: 'auto' }).WORKERS).toBe(availableParallelism());
    expect(loadConfig({ WORKERS: '3' }).WORKERS).toBe(3);
    expect(() => loadConfig({ WORKERS: '0' })).toThrow('WORKERS="0": expected auto or a whole number of workers from 1 to 256');
  });

  test('When values are set, then they are parsed to their types', () => {
    const config = loadConfig({
      PORT: '0',
      MODEL_URI: 'models:/other/3',
      BODY_LIMIT: '512kb',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:3000',
      LOG_PRETTY: 'true',
      SHUTDOWN_DRAIN_MS: '0',
      UNRELATED: 'ignored',
    });

    expect(config).toMatchObject({
      PORT: 0,
      MODEL_URI: { kind: 'version', name: 'other', version: '3', text: 'models:/other/3' },
      BODY_LIMIT: 524_288,
      CORS_ORIGINS: ['https://a.example.com', 'http://localhost:3000'],
      LOG_PRETTY: true,
      SHUTDOWN_DRAIN_MS: 0,
    });
  });

  test('When a variable is empty, then its default applies', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '' })).toMatchObject({ PORT: 9696, LOG_LEVEL: 'info' });
  });

  test.each([
    ['PORT', 'abc', 'invalid configuration: PORT="abc": expected a port number'],
    ['PORT', '70000', 'invalid configuration: PORT="70000": expected a port from 0 to 65535'],
    ['PORT', '80.5', 'invalid configuration: PORT="80.5": expected a whole port number'],
    [
      'MODEL_URI',
      's3://bucket/model',
      'invalid configuration: MODEL_URI="s3://bucket/model": expected models:/<name>@<alias>, models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest, models:/m-<id>, runs:/<run_id>/<path>, file:<model directory> or an http(s):// URL of a model directory or .onnx file, got "s3://bucket/model"',
    ],
    ['MODEL_CACHE_KEEP', '0', 'invalid configuration: MODEL_CACHE_KEEP="0": expected at least 1'],
    ['MODEL_POLL_INTERVAL_S', '-5', 'invalid configuration: MODEL_POLL_INTERVAL_S="-5": expected 0 (off) or more seconds'],
    ['ADMIN_TOKEN', 'short', 'invalid configuration: ADMIN_TOKEN="short": expected at least 16 characters (e.g. openssl rand -hex 32)'],
    ['MODEL_URI', 'models:/taxi/0', 'invalid configuration: MODEL_URI="models:/taxi/0": version "0" must be a positive integer'],
    [
      'MODEL_URI',
      'models:/..@x',
      "invalid configuration: MODEL_URI=\"models:/..@x\": model name \"..\" may hold only letters, digits, '.', '_' and '-'",
    ],
    ['REGISTRY_URI', 'ftp://x', 'invalid configuration: REGISTRY_URI="ftp://x": expected file:<directory> or an http(s):// URL'],
    ['LOG_LEVEL', 'verbose', 'invalid configuration: LOG_LEVEL="verbose": expected one of fatal, error, warn, info, debug, trace, silent'],
    ['LOG_PRETTY', 'maybe', 'invalid configuration: LOG_PRETTY="maybe": expected true or false'],
    ['BODY_LIMIT', 'huge', 'invalid configuration: BODY_LIMIT="huge": expected a size such as 512kb, 2mb or a number of bytes'],
    ['MAX_BATCH', '0', 'invalid configuration: MAX_BATCH="0": expected at least 1'],
    [
      'CORS_ORIGINS',
      'https://a.com/path',
      'invalid configuration: CORS_ORIGINS="https://a.com/path": expected a comma-separated list of origins such as https://app.example.com (no path), or *',
    ],
    ['SHUTDOWN_DRAIN_MS', '-1', 'invalid configuration: SHUTDOWN_DRAIN_MS="-1": expected 0 or more milliseconds'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon', 'invalid configuration: SHUTDOWN_TIMEOUT_MS="soon": expected a number of milliseconds'],
    ['MAX_IN_FLIGHT', '-1', 'invalid configuration: MAX_IN_FLIGHT="-1": expected 0 (no limit) or more'],
    ['HEADERS_TIMEOUT_MS', '10', 'invalid configuration: HEADERS_TIMEOUT_MS="10": expected at least 100 ms'],
    [
      'MLFLOW_HTTP_REQUEST_MAX_RETRIES',
      '11',
      'invalid configuration: MLFLOW_HTTP_REQUEST_MAX_RETRIES="11": expected an integer from 0 to 10',
    ],
    ['MLFLOW_HTTP_REQUEST_TIMEOUT', 'soon', 'invalid configuration: MLFLOW_HTTP_REQUEST_TIMEOUT="soon": expected seconds > 0'],
    [
      'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR',
      '500',
      'invalid configuration: MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="500": expected seconds from 0 to 120',
    ],
    ['MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', '-1', 'invalid configuration: MLFLOW_HTTP_REQUEST_BACKOFF_JITTER="-1": expected seconds ≥ 0'],
    ['REQUEST_TIMEOUT_MS', '5000', 'invalid configuration: HEADERS_TIMEOUT_MS=10000: expected at most REQUEST_TIMEOUT_MS (5000)'],
    ['CHALLENGER_URI', 'models:/taxi/0', 'invalid configuration: CHALLENGER_URI="models:/taxi/0": version "0" must be a positive integer'],
    [
      'CHALLENGER_URI',
      'models:/taxi/Staging',
      'invalid configuration: CHALLENGER_URI="models:/taxi/Staging": the file registry (REGISTRY_URI=file:models) answers models:/<name>@<alias> and models:/<name>/<version> only; stages, latest, logged models and runs:/ need an MLflow registry',
    ],
    ['CHALLENGER_MODE', 'canary', 'invalid configuration: CHALLENGER_MODE="canary": expected shadow or split'],
    ['CHALLENGER_PERCENT', '101', 'invalid configuration: CHALLENGER_PERCENT="101": expected a percentage from 0 to 100'],
    ['CHALLENGER_PERCENT', 'half', 'invalid configuration: CHALLENGER_PERCENT="half": expected a percentage'],
  ])('When %s=%s, then one line names the variable and the rule', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new ConfigError(message));
  });

  test('When several variables are bad, then the line names each of them', () => {
    expect(() => loadConfig({ PORT: 'x', MAX_BATCH: 'y' })).toThrow(
      'invalid configuration: PORT="x": expected a port number; MAX_BATCH="y": expected a number of trips',
    );
  });
});

describe('MLflow client variables', () => {
  test("When only MLFLOW_TRACKING_URI is set, then it is the registry and MLflow's defaults apply", () => {
    expect(loadConfig({ MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000' }).MLFLOW).toEqual({
      trackingUri: 'http://127.0.0.1:5000',
      token: undefined,
      username: undefined,
      password: undefined,
      timeoutMs: 120_000,
      maxRetries: 7,
      backoffFactor: 2,
      backoffJitter: 1,
    });
    expect(MLFLOW_HTTP_DEFAULTS).toEqual({ timeoutMs: 120_000, maxRetries: 7, backoffFactor: 2, backoffJitter: 1 });
  });

  test('When every variable is set, then each is read, for the service and for the training CLI alike', () => {
    const env = {
      MLFLOW_TRACKING_TOKEN: 'tok',
      MLFLOW_TRACKING_USERNAME: 'u',
      MLFLOW_TRACKING_PASSWORD: 'p',
      MLFLOW_HTTP_REQUEST_TIMEOUT: '5',
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2',
      MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.5',
      MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0',
    };
    const expected = {
      trackingUri: 'https://mlflow.example/prefix',
      token: 'tok',
      username: 'u',
      password: 'p',
      timeoutMs: 5000,
      maxRetries: 2,
      backoffFactor: 0.5,
      backoffJitter: 0,
    };

    expect(loadConfig({ ...env, REGISTRY_URI: 'https://mlflow.example/prefix' }).MLFLOW).toEqual(expected);
    expect(loadMlflowOptions(env, 'https://mlflow.example/prefix')).toEqual(expected);
    expect(() => loadMlflowOptions({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: 'x' }, 'http://x')).toThrow(
      /MLFLOW_HTTP_REQUEST_MAX_RETRIES="x": expected an integer from 0 to 10/,
    );
  });
});

describe('parseByteSize', () => {
  test('When a size has a unit, then it is converted to bytes', () => {
    expect([parseByteSize('100'), parseByteSize('1kb'), parseByteSize('1.5MB'), parseByteSize('1gb')]).toEqual([
      100,
      1024,
      1_572_864,
      1024 ** 3,
    ]);
    expect([parseByteSize('0'), parseByteSize('-1kb'), parseByteSize('1tb')]).toEqual([undefined, undefined, undefined]);
  });
});
