/**
 * One serving process: logger and metrics → HTTP server → model load (session + warm-up) → ready.
 * SIGTERM/SIGINT drain: /readyz turns 503 at once, the server keeps serving for SHUTDOWN_DRAIN_MS,
 * stops accepting, lets in-flight requests finish, exits 0. Run by server.ts, alone or as a cluster worker.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type Lifecycle } from './app.js';
import { joinCluster, reportReady } from './cluster.js';
import type { Config } from './config.js';
import { serverOptions } from './http/server-options.js';
import { createMicroBatcher, createMicroBatchMetrics } from './model/micro-batcher.js';
import type { LoadedModel } from './model/onnx-model.js';
import { ModelSlot } from './model/model-slot.js';
import { createModelUpdater } from './model/model-updater.js';
import type { Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createModelSource } from './registry/create-source.js';
import { modelUriWarning } from './registry/model-uri.js';

export async function serve(config: Config, rootLogger: Logger, clustered: boolean): Promise<void> {
  // why: in a cluster, each line says which worker wrote it.
  const logger = clustered ? rootLogger.child({ worker: cluster.worker?.id, pid: process.pid }) : rootLogger;
  const exitOnBug = (kind: string) => (err: unknown) => {
    logger.fatal({ err }, kind);
    process.exit(1);
  };
  process.on('uncaughtException', exitOnBug('uncaught exception'));
  process.on('unhandledRejection', exitOnBug('unhandled promise rejection'));

  const metrics = createMetrics();
  const slot = new ModelSlot();
  const lifecycle: Lifecycle = { draining: false };
  // Micro-batching (MAX_BATCH_SIZE > 1) wraps each loaded model, at start-up and on every reload.
  const batchMetrics = config.MAX_BATCH_SIZE > 1 ? createMicroBatchMetrics(metrics.registry) : undefined;
  const forServing = (model: LoadedModel): LoadedModel =>
    batchMetrics === undefined
      ? model
      : createMicroBatcher(model, { maxBatchSize: config.MAX_BATCH_SIZE, maxDelayUs: config.MAX_BATCH_DELAY_US }, batchMetrics);
  const uri = config.MODEL_URI;
  const source = createModelSource(config, { cwd: process.cwd(), logger });
  const updater = createModelUpdater({
    source, uri, slot, metrics, logger, lifecycle, pollIntervalMs: config.MODEL_POLL_INTERVAL_S * 1000, prepare: forServing,
  });
  const metricsSource = clustered ? joinCluster(metrics.registry) : undefined;
  const app = createApp({ config, logger, metrics, slot, lifecycle, updater, metricsSource });
  // why: client timeouts (keep-alive for load balancers, slowloris guards) are explained in server-options.ts.
  const server = createServer(serverOptions(config), app);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    lifecycle.draining = true;
    updater.stop();
    // why: readiness only stops new connections from being routed here; clients holding keep-alive
    // connections (kube-proxy, most HTTP clients) would keep using them. `Connection: close` on every
    // response from now on moves them to other replicas during the drain window.
    server.prependListener('request', (_req, res) => {
      res.shouldKeepAlive = false;
    });
    logger.info({ signal, drain_ms: config.SHUTDOWN_DRAIN_MS }, 'shutting down: readiness is 503, still serving');
    await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_MS));

    const timeout = setTimeout(() => {
      logger.error({ timeout_ms: config.SHUTDOWN_TIMEOUT_MS }, 'in-flight requests did not finish in time; closing connections');
      server.closeAllConnections();
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    // why: close() stops accepting and drops idle keep-alive connections once; connections that were
    // busy become idle after their response and are dropped by this sweep.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    logger.info({ timeout_ms: config.SHUTDOWN_TIMEOUT_MS }, 'no longer accepting connections; finishing in-flight requests');
    await closed;
    clearInterval(sweep);
    await slot.close();
    clearTimeout(timeout);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const listen = async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    logger.info({ host: config.HOST, port }, 'listening');
  };
  // why: listen before loading, so /healthz answers (liveness, startupProbe) while /readyz says 503.
  // A cluster worker listens only once loaded: the primary routes connections to listening workers.
  if (!clustered) await listen();

  const warning = modelUriWarning(uri);
  if (warning) logger.warn({ model_uri: uri.text }, warning);
  try {
    // why: resolves once a model serves; a registry that cannot be reached is retried inside (live, not ready).
    await updater.start();
  } catch (err) {
    if (shuttingDown) return;
    logger.fatal({ err, model_uri: uri.text, registry: source.description }, `cannot load the model: ${(err as Error).message}`);
    process.exit(1);
  }
  if (clustered && !shuttingDown) {
    await listen();
    reportReady();
  }
}

