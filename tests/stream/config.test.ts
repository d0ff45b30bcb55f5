import { describe, expect, test } from 'vitest';
import { CONFIG_KEYS, loadStreamConfig } from '../../src/config.js';

describe('loadStreamConfig', () => {
  test('When only REDIS_URL is set, then the course names and the documented defaults apply', () => {
    const config = loadStreamConfig({ REDIS_URL: 'redis://redis:6379' });

    expect(config).toMatchObject({
      REDIS_URL: 'redis://redis:6379',
      EVENTS_STREAM: 'ride_events',
      PREDICTIONS_STREAM_NAME: 'ride_predictions',
      DEAD_LETTER_STREAM: 'ride_events_dlq',
      CONSUMER_GROUP: 'ride-duration',
      STREAM_BATCH: 500,
      STREAM_CLAIM_IDLE_MS: 30_000,
      PREDICTIONS_MAXLEN: 1_000_000,
      STREAM_DEDUPE_TTL_S: 3600,
      METRICS_PORT: 9697,
      REGISTRY_URI: 'file:models',
      MLFLOW: undefined,
    });
    expect(config.MODEL_URI.text).toBe('models:/taxi-ride-duration@production');
    expect(config.CONSUMER_NAME).toMatch(/^\S+-\d+$/);
  });

  test('When REDIS_URL is missing and STREAM_BATCH is not a number, then one error names both', () => {
    expect(() => loadStreamConfig({ STREAM_BATCH: 'lots' })).toThrow(
      'invalid configuration: REDIS_URL="": is required: the Redis server, e.g. redis://redis:6379; STREAM_BATCH="lots": expected a number of entries',
    );
  });

  test('When a stream name has a space, then it is refused', () => {
    expect(() => loadStreamConfig({ REDIS_URL: 'rediss://u:p@h:6380/2', EVENTS_STREAM: 'ride events' })).toThrow(
      /EVENTS_STREAM="ride events": expected 1 to 200 printable characters/,
    );
  });

  test('When the settings are listed for the docs, then the stream keys are among them', () => {
    expect(CONFIG_KEYS).toEqual(
      expect.arrayContaining(['REDIS_URL', 'STREAM_BATCH', 'METRICS_PORT', 'STREAM_DEDUPE_TTL_S', 'PREDICTIONS_MAXLEN']),
    );
  });
});
