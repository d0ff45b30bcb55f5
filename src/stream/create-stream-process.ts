/**
 * The stream consumer's composition root, as create-service.ts is the service's: config → model
 * runtime (the service's loading, cache and hot swap) → two Redis connections → consumer → probe
 * server on METRICS_PORT. No process.*: the runner (src/stream.ts) owns signals and exit codes.
 */
import type { AddressInfo } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import type { StreamConfig } from '../config.js';
import type { Lifecycle } from '../lifecycle.js';
import { createModelRuntime, type ModelRuntime } from '../model/model-runtime.js';
import type { Predictor } from '../model/predictor.js';
import type { Logger } from '../observability/logger.js';
import { createStreamMetrics, type StreamMetrics } from '../observability/stream-metrics.js';
import { createStreamConsumer, type StreamConsumer } from './consumer.js';
import { createProbeServer } from './probe-server.js';

export interface StreamProcessOptions {
  cwd: string;
  /** Epoch ms for trips without a pickup time; Date.now by default. */
  now?: () => number;
  /** Replaces the model's predictor (the benchmark's pass-through baseline); the model is still loaded. */
  predictor?: Pick<Predictor, 'predict'>;
  retryMs?: { initial: number; max: number };
}

export interface StreamProcess {
  readonly runtime: ModelRuntime;
  readonly metrics: StreamMetrics;
  readonly consumer: StreamConsumer;
  /** Opens the probe port, loads the model (unless runtime.start() did), starts consuming; resolves with the probe address. */
  start(): Promise<AddressInfo>;
  /** Stops reading, commits the batch in hand, closes. Resolves false when it had to give up after SHUTDOWN_TIMEOUT_MS. */
  stop(reason?: string): Promise<boolean>;
}

/** Reconnect backoff: 200 ms more per attempt, at most 5 s; never gives up (the consumer is useless without Redis). */
export function redisOptions(name: string): RedisOptions {
  return {
    connectionName: name,
    // why: commands wait for the reconnection instead of failing: the loop resumes where it was.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 5000),
    lazyConnect: true,
  };
}

export function createStreamProcess(config: StreamConfig, logger: Logger, options: StreamProcessOptions): StreamProcess {
  const lifecycle: Lifecycle = { draining: false };
  const runtime = createModelRuntime(config, logger, { cwd: options.cwd, lifecycle, retryMs: options.retryMs });
  const metrics = createStreamMetrics(runtime.metrics.registry);
  const redis = new Redis(config.REDIS_URL, redisOptions(`ride-duration:${config.CONSUMER_NAME}:commit`));
  const reader = new Redis(config.REDIS_URL, redisOptions(`ride-duration:${config.CONSUMER_NAME}:read`));
  const target = config.REDIS_URL.replace(/\/\/[^@/]*@/, '//***@');
  for (const [role, connection] of [
    ['commit', redis],
    ['read', reader],
  ] as const) {
    let down = false;
    let wasReady = false;
    // why: ioredis reports every failed reconnection attempt; one line per outage is enough.
    connection.on('error', (err: Error) => {
      metrics.redisErrors.inc();
      if (!down)
        logger.warn({ err: { message: err.message }, redis: target, connection: role }, 'Redis unreachable; reconnecting with backoff');
      down = true;
    });
    connection.on('close', () => {
      if (!down && wasReady && !lifecycle.draining)
        logger.warn({ redis: target, connection: role }, 'Redis connection lost; reconnecting with backoff');
      down = true;
    });
    connection.on('ready', () => {
      if (down && wasReady) logger.info({ redis: target, connection: role }, 'Redis reconnected');
      down = false;
      wasReady = true;
    });
  }
  const connected = () => redis.status === 'ready' && reader.status === 'ready';
  metrics.setConnectedSource(connected);
  const consumer = createStreamConsumer({
    config,
    redis,
    reader,
    metrics,
    logger,
    now: options.now,
    predictor: options.predictor ?? runtime.predictor,
  });
  const server = createProbeServer(runtime.metrics.registry, {
    notReadyReason() {
      if (lifecycle.draining) return 'the consumer is shutting down';
      if (runtime.predictor.model === undefined) return lifecycle.notReadyReason ?? 'no model is loaded yet';
      if (!connected()) return `Redis (${target}) cannot be reached; reconnecting`;
      if (!consumer.healthy) return 'the consumer group is not ready yet';
      return undefined;
    },
    modelVersion: () => runtime.predictor.model?.modelVersion,
  });

  let running: Promise<void> | undefined;
  let stopping: Promise<boolean> | undefined;
  return {
    runtime,
    metrics,
    consumer,
    async start() {
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.METRICS_PORT, config.HOST, () => {
          server.removeListener('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
      logger.info({ host: config.HOST, port: address.port }, 'probes and metrics listening');
      if (runtime.predictor.model === undefined) await runtime.start();
      // why: connect() rejects on the first failed attempt, but ioredis keeps retrying; the loop waits for it.
      redis.connect().catch(() => undefined);
      reader.connect().catch(() => undefined);
      running = consumer.run();
      return address;
    },
    stop(reason = 'stop') {
      stopping ??= (async () => {
        lifecycle.draining = true;
        logger.info({ reason }, 'stopping: no more reads; committing the batch in hand');
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), config.SHUTDOWN_TIMEOUT_MS);
        });
        const timedOut = await Promise.race([consumer.stop().then(() => false), deadline]);
        clearTimeout(timer);
        if (timedOut) {
          logger.error(
            { timeout_ms: config.SHUTDOWN_TIMEOUT_MS },
            'the batch in hand did not commit in time; its entries stay pending for another consumer to claim',
          );
        }
        redis.disconnect();
        reader.disconnect();
        // why only when it committed: an abandoned commit may never settle once ioredis is disconnected
        // mid-reconnect (docs/streaming.md, "Crashes, restarts, shutdown"), and the loop waiting for it would hold the exit forever.
        if (!timedOut) await running?.catch(() => undefined);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await runtime.close();
        logger.info('stopped');
        return !timedOut;
      })();
      return stopping;
    },
  };
}
