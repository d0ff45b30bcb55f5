import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, parseByteSize } from '../../src/config.js';

describe('loadConfig', () => {
  test('When the environment is empty, then the documented defaults apply', () => {
    expect(loadConfig({})).toEqual({
      PORT: 9696,
      HOST: '0.0.0.0',
      MODEL_URI: 'models:/taxi-ride-duration@production',
      REGISTRY_URI: 'file:models',
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      BODY_LIMIT: 2 * 1024 * 1024,
      MAX_BATCH: 10_000,
      CORS_ORIGINS: [],
      OTEL_SERVICE_NAME: 'taxi-ride-duration',
      SHUTDOWN_DRAIN_MS: 5000,
      SHUTDOWN_TIMEOUT_MS: 30_000,
      MODEL_CACHE_DIR: join(tmpdir(), 'taxi-ride-duration-models'),
      MODEL_CACHE_KEEP: 3,
      MODEL_POLL_INTERVAL_S: 30,
      MLFLOW: undefined,
      MAX_IN_FLIGHT: 256,
      HEADERS_TIMEOUT_MS: 10_000,
      REQUEST_TIMEOUT_MS: 30_000,
      WORKERS: 1,
      MICROBATCH_MAX_SIZE: 1,
      MICROBATCH_MAX_DELAY_US: 0,
      deprecations: [],
    });
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
      MODEL_URI: 'models:/other/3',
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
    ['MODEL_URI', 's3://bucket/model', 'invalid configuration: MODEL_URI="s3://bucket/model": expected models:/<name>@<alias>, models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest, models:/m-<id>, runs:/<run_id>/<path>, file:<model directory> or an http(s):// URL of a model directory or .onnx file, got "s3://bucket/model"'],
    ['MODEL_CACHE_KEEP', '0', 'invalid configuration: MODEL_CACHE_KEEP="0": expected at least 1'],
    ['MODEL_POLL_INTERVAL_S', '-5', 'invalid configuration: MODEL_POLL_INTERVAL_S="-5": expected 0 (off) or more seconds'],
    ['ADMIN_TOKEN', 'short', 'invalid configuration: ADMIN_TOKEN="short": expected at least 16 characters (e.g. openssl rand -hex 32)'],
    ['MODEL_URI', 'models:/taxi/0', 'invalid configuration: MODEL_URI="models:/taxi/0": version "0" must be a positive integer'],
    ['MODEL_URI', 'models:/..@x', 'invalid configuration: MODEL_URI="models:/..@x": model name ".." may hold only letters, digits, \'.\', \'_\' and \'-\''],
    ['REGISTRY_URI', 'ftp://x', 'invalid configuration: REGISTRY_URI="ftp://x": expected file:<directory> or an http(s):// URL'],
    ['LOG_LEVEL', 'verbose', 'invalid configuration: LOG_LEVEL="verbose": expected one of fatal, error, warn, info, debug, trace, silent'],
    ['LOG_PRETTY', 'maybe', 'invalid configuration: LOG_PRETTY="maybe": expected true or false'],
    ['BODY_LIMIT', 'huge', 'invalid configuration: BODY_LIMIT="huge": expected a size such as 512kb, 2mb or a number of bytes'],
    ['MAX_BATCH', '0', 'invalid configuration: MAX_BATCH="0": expected at least 1'],
    ['CORS_ORIGINS', 'https://a.com/path', 'invalid configuration: CORS_ORIGINS="https://a.com/path": expected a comma-separated list of origins such as https://app.example.com (no path), or *'],
    ['SHUTDOWN_DRAIN_MS', '-1', 'invalid configuration: SHUTDOWN_DRAIN_MS="-1": expected 0 or more milliseconds'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon', 'invalid configuration: SHUTDOWN_TIMEOUT_MS="soon": expected a number of milliseconds'],
    ['MAX_IN_FLIGHT', '-1', 'invalid configuration: MAX_IN_FLIGHT="-1": expected 0 (no limit) or more'],
    ['HEADERS_TIMEOUT_MS', '10', 'invalid configuration: HEADERS_TIMEOUT_MS="10": expected at least 100 ms'],
    ['REQUEST_TIMEOUT_MS', '5000', 'invalid configuration: HEADERS_TIMEOUT_MS=10000: expected at most REQUEST_TIMEOUT_MS (5000)'],
  ])('When %s=%s, then one line names the variable and the rule', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new ConfigError(message));
  });

  test('When several variables are bad, then the line names each of them', () => {
    expect(() => loadConfig({ PORT: 'x', MAX_BATCH: 'y' })).toThrow(
      'invalid configuration: PORT="x": expected a port number; MAX_BATCH="y": expected a number of trips',
    );
  });
});

describe('parseByteSize', () => {
  test('When a size has a unit, then it is converted to bytes', () => {
    expect([parseByteSize('100'), parseByteSize('1kb'), parseByteSize('1.5MB'), parseByteSize('1gb')]).toEqual([
      100, 1024, 1_572_864, 1024 ** 3,
    ]);
    expect([parseByteSize('0'), parseByteSize('-1kb'), parseByteSize('1tb')]).toEqual([undefined, undefined, undefined]);
  });
});
