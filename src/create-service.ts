/**
 * The composition root: one serving process, wired from a Config and a logger, with no process.*
 * calls, so tests build exactly what production runs. The runner (server.ts) owns signals, cluster
 * roles and exit codes.
 *
 * Wiring: metrics → model slot → model source and updater (load, hot swap, micro-batching) →
 * predictor → front ends → app → HTTP server. Lifecycle: start() loads the model (and opens the
 * port, before loading so liveness answers meanwhile, or after it in a cluster worker); stop()
 * drains (docs/operations.md, "Shutdown").
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { createApp, type FrontEnd } from './app.js';
import type { Config } from './config.js';
import { createChallenger, type Challenger } from './experiment/challenger.js';
import { experimentFrontEnd } from './experiment/experiment-route.js';
import { createOnlineStats, type OnlineStats } from './experiment/online-stats.js';
import { demoFrontEnd } from './http/routes/demo.js';
import { invocationsFrontEnd } from './http/routes/invocations.js';
import { oipFrontEnd } from './http/routes/oip.js';
import { openApiFrontEnd } from './http/routes/openapi.js';
import { zonesFrontEnd } from './http/routes/zones.js';
import { gracefulClose } from './http/graceful-close.js';
import { serverOptions } from './http/server-options.js';
import type { Lifecycle } from './lifecycle.js';
import { createAdaptiveBatcher } from './model/adaptive-batcher.js';
import { createMicroBatcher } from './model/micro-batcher.js';
import { createModelRuntime } from './model/model-runtime.js';
import type { ModelUpdater } from './model/model-updater.js';
import type { LoadedModel } from './model/onnx-model.js';
import { createPredictor, type Predictor } from './model/predictor.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics, type MetricsSource } from './observability/metrics.js';
import { monitoringFrontEnd } from './http/routes/monitoring.js';
import { createMonitoring } from './monitoring/setup.js';
import type { Monitor } from './monitoring/monitor.js';
import { linkExperimentToMonitoring } from './experiment/monitoring-link.js';
import { createTracing } from './observability/tracing.js';

export interface ServiceOptions {
  /** Where relative registry paths (file:models) are resolved. */
  cwd: string;
  /** In a cluster worker: the /metrics view of all workers, built from this worker's registry. */
  clusterMetrics?: (registry: Registry) => MetricsSource;
  /** Epoch milliseconds for trips without a pickup time; Date.now by default (tests pin it). */
  now?: () => number;
  /** A cluster worker: monitoring's shared state lives in the primary (src/monitoring/cluster-link.ts). */
  clustered?: boolean;
  /** Start-up retry backoff of the model updater (tests shorten it). */
  retryMs?: { initial: number; max: number };
}

/**
 * How long a keep-alive connection must stay quiet, once the port is closed, before it is closed: a
 * client under load sends its next request within this and gets it answered with `Connection: close`.
 */
const IDLE_GRACE_MS = 500;

export interface StopOptions {
  /** Skip the drain window and close quiet connections at once (an interactive Ctrl-C). */
  immediate?: boolean;
}

export interface Service {
  /** The request listener (for supertest, or another server). */
  readonly listener: RequestListener;
  readonly server: Server;
  readonly predictor: Predictor;
  readonly metrics: Metrics;
  readonly lifecycle: Lifecycle;
  readonly updater: ModelUpdater;
  /** The challenger's slot and updater, when CHALLENGER_URI is set (docs/experiments.md). */
  readonly challenger: Challenger | undefined;
  /** The online A/B statistics behind GET /experiment; feed it feedback events. */
  readonly experiment: OnlineStats;
  /** Model monitoring (POST /feedback, GET /monitoring); undefined with MONITORING=false. */
  readonly monitor: Monitor | undefined;
  /**
   * Opens the port and loads the model; resolves with the address once the model serves. With
   * `listen: 'after-load'` (cluster workers) the port opens only then. Rejects on a failure waiting
   * cannot fix (bad model, unknown alias, port in use).
   */
  start(options?: { listen?: 'before-load' | 'after-load' }): Promise<AddressInfo>;
  /** Opens the port only (no model load); resolves with the address. */
  listen(): Promise<AddressInfo>;
  /**
   * Drains: readiness 503 at once, serves on for SHUTDOWN_DRAIN_MS, stops accepting, answers what is
   * in flight or arriving on open connections (with `Connection: close`) within SHUTDOWN_TIMEOUT_MS,
   * releases the model. Resolves true when everything finished in time, false when connections had to
   * be cut. Calling it again returns the same promise.
   */
  stop(reason?: string, options?: StopOptions): Promise<boolean>;
}

/** How each loaded model is wrapped for serving, at start-up and on every reload (BATCHING). */
export function batchingFor(
  config: Pick<Config, 'BATCHING' | 'BATCH_MAX_ROWS' | 'MICROBATCH_MAX_SIZE' | 'MICROBATCH_MAX_DELAY_US'>,
  metrics: Pick<Metrics, 'microBatch' | 'adaptiveBatch'>,
): ((model: LoadedModel) => LoadedModel) | undefined {
  switch (config.BATCHING) {
    case 'adaptive':
      return (model) => createAdaptiveBatcher(model, { maxRows: config.BATCH_MAX_ROWS }, metrics.adaptiveBatch);
    case 'delay':
      return (model) =>
        createMicroBatcher(
          model,
          { maxBatchSize: config.MICROBATCH_MAX_SIZE, maxDelayUs: config.MICROBATCH_MAX_DELAY_US },
          metrics.microBatch,
        );
    case 'off':
      return undefined;
  }
}

export function createService(config: Config, logger: Logger, options: ServiceOptions): Service {
  const metrics = createMetrics();
  const lifecycle: Lifecycle = { draining: false };
  const prepare = batchingFor(config, metrics);
  const challenger = createChallenger(config, { metrics, logger, cwd: options.cwd, prepare, retryMs: options.retryMs });
  // why the shared runtime: the service's champion is loaded, swapped and predicted exactly as in batch scoring and the stream consumer.
  const runtime = createModelRuntime(config, logger, {
    cwd: options.cwd,
    lifecycle,
    metrics,
    prepare,
    retryMs: options.retryMs,
    challenger: challenger?.arm,
  });
  const { slot, updater, predictor } = runtime;
  const experiment = createOnlineStats(() => {
    const arm = predictor.challenger;
    return arm && { mode: arm.mode, champion: predictor.model?.modelVersion, challenger: arm.model?.modelVersion };
  });
  const now = options.now ?? Date.now;
  // why: OIP clients may address the challenger by its version (docs/api.md); it gets a predictor of its own slot.
  const challengerPredictor = challenger && createPredictor({ slot: challenger.slot, metrics });
  const predictorFor = (version: string) => (challengerPredictor?.model?.version === version ? challengerPredictor : undefined);
  const protocol = { predictor, lifecycle, maxBatch: config.MAX_BATCH, now };
  const frontEnds: FrontEnd[] = [
    experimentFrontEnd({ predictor, stats: experiment }),
    zonesFrontEnd(predictor),
    oipFrontEnd({ ...protocol, predictorFor }),
    invocationsFrontEnd(protocol),
    openApiFrontEnd(),
    ...(config.DEMO_PAGE ? [demoFrontEnd()] : []),
  ];
  const monitor = createMonitoring(config, {
    predictor,
    metrics: metrics.monitoring,
    logger,
    clustered: options.clustered === true,
    now: options.now,
  });
  if (monitor !== undefined) {
    frontEnds.push(monitoringFrontEnd(monitor, config.MAX_BATCH));
    // why: shadow predictions are logged under the challenger's version, and feedback feeds GET /experiment.
    linkExperimentToMonitoring(predictor, monitor, experiment);
  }
  const tracing = createTracing(config);
  const listener = createApp({
    config,
    logger,
    metrics,
    predictor,
    lifecycle,
    updater,
    frontEnds,
    now: options.now,
    tracer: tracing,
    metricsSource: options.clusterMetrics?.(metrics.registry),
  });
  // why: client timeouts (keep-alive for load balancers, slowloris guards) are explained in server-options.ts.
  const server = createServer(serverOptions(config), listener);
  const connections = gracefulClose(server);

  let listening: Promise<AddressInfo> | undefined;
  const listen = () =>
    (listening ??= new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => {
        server.removeListener('error', reject);
        const address = server.address() as AddressInfo;
        logger.info({ host: config.HOST, port: address.port }, 'listening');
        resolve(address);
      });
    }));

  let stopping: Promise<boolean> | undefined;
  const stop = (reason = 'stop', { immediate = false }: StopOptions = {}) =>
    (stopping ??= (async () => {
      lifecycle.draining = true;
      updater.stop();
      if (!server.listening) {
        await monitor?.close();
        await Promise.all([slot.close(), challenger?.stop(), tracing.shutdown()]);
        logger.info('stopped');
        return true;
      }
      // why: during the drain, keep-alive connections stay open and are served: closing them would only
      // make their clients reconnect, to this instance when they talk to it directly. They are closed,
      // each between two requests, once the port closes (http/graceful-close.ts).
      if (!immediate) {
        logger.info({ reason, drain_ms: config.SHUTDOWN_DRAIN_MS }, 'shutting down: readiness is 503, still serving');
        await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_MS));
      } else {
        logger.info({ reason }, 'shutting down now, without the drain');
      }
      // why: the port is closed synchronously here, before the line says so.
      const closed = connections.close({
        idleGraceMs: immediate ? 0 : Math.min(IDLE_GRACE_MS, config.SHUTDOWN_TIMEOUT_MS / 2),
        timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
        onTimeout: () =>
          logger.error({ timeout_ms: config.SHUTDOWN_TIMEOUT_MS }, 'in-flight requests did not finish in time; closing connections'),
      });
      logger.info({ timeout_ms: config.SHUTDOWN_TIMEOUT_MS }, 'no longer accepting connections; finishing in-flight requests');
      const clean = await closed;
      await monitor?.close();
      await Promise.all([slot.close(), challenger?.stop(), tracing.shutdown()]);
      logger.info('stopped');
      return clean;
    })());

  return {
    listener,
    server,
    predictor,
    metrics,
    lifecycle,
    updater,
    challenger,
    experiment,
    monitor,
    listen,
    async start({ listen: when = 'before-load' } = {}) {
      await tracing.ready;
      // why: listen before loading, so /healthz answers (liveness, startupProbe) while /readyz says 503.
      if (when === 'before-load') await listen();
      // why not awaited: the challenger never holds up (or fails) the champion's start-up.
      challenger?.start();
      await runtime.start();
      return listen();
    },
    stop,
  };
}
