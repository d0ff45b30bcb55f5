/**
 * The process runner: config → logger → either the cluster primary (WORKERS > 1), which forks workers
 * and serves nothing, or one serving process built by createService. This file alone reads
 * process.env, handles signals and chooses exit codes; create-service.ts does the wiring.
 *
 * why create-service is imported only where it runs: the primary never needs Express, onnxruntime or
 * the registry clients, and loading them before forking delayed every worker's start by ~200 ms.
 */
import cluster from 'node:cluster';
import {
  exitFlushed,
  exitOnBugs,
  exitOnStartupCrash,
  logStartFailure,
  makeLoggerOrExit,
  readConfigOrExit,
  stopOnSignals,
} from './cli/startup.js';
import { joinCluster, onStopRequest, reportReady, runPrimary } from './cluster.js';
import { loadConfig, type Config } from './config.js';
import type { Logger } from './observability/logger.js';

/** One serving process, alone or as a cluster worker. */
async function serveOne(config: Config, rootLogger: Logger, clustered: boolean): Promise<void> {
  // why: in a cluster, each line says which worker wrote it.
  const logger = clustered ? rootLogger.child({ worker: cluster.worker?.id, pid: process.pid }) : rootLogger;
  const exitOnBug = exitOnBugs(logger);
  for (const warning of config.deprecations) logger.warn(warning);

  const { createService } = await import('./create-service.js');
  const service = createService(config, logger, { cwd: process.cwd(), clusterMetrics: clustered ? joinCluster : undefined, clustered });

  // why: in a terminal nobody's load balancer routes here, so Ctrl-C stops without the drain window.
  const interactive = process.stdin.isTTY === true || process.stdout.isTTY === true;
  const { stopping, request } = stopOnSignals(logger, exitOnBug, (signal) =>
    service.stop(signal, { immediate: signal === 'SIGINT' && interactive }),
  );
  // why: the primary asks a ready worker to stop by message (cluster.ts), not by forwarding the signal.
  if (clustered) onStopRequest(request);

  try {
    await service.start({ listen: clustered ? 'after-load' : 'before-load' });
  } catch (err) {
    if (stopping()) return;
    logStartFailure(logger, err, { host: config.HOST, port: config.PORT }, config.MODEL_URI.text);
    exitFlushed(logger, 1);
    return;
  }
  if (clustered && !stopping()) reportReady();
}

async function main(): Promise<void> {
  const config = readConfigOrExit(loadConfig);
  const clustered = config.WORKERS > 1;
  const rootLogger = makeLoggerOrExit(config);
  if (clustered && cluster.isPrimary) {
    // why here: monitoring's shared state (drift window, accuracy, in-memory prediction log) is the primary's.
    const monitoring = config.MONITORING ? await import('./monitoring/cluster-link.js') : undefined;
    const hub = monitoring && (await import('./monitoring/hub.js')).createHub(config);
    runPrimary({
      onWorkerMessage: monitoring && hub && monitoring.hostMonitoring(hub, rootLogger.child({ role: 'primary' })),
      workers: config.WORKERS,
      logger: rootLogger.child({ role: 'primary' }),
      shutdownBudgetMs: config.SHUTDOWN_DRAIN_MS + config.SHUTDOWN_TIMEOUT_MS + 5_000,
    });
    return;
  }
  await serveOne(config, rootLogger, clustered);
}

main().catch(exitOnStartupCrash);
