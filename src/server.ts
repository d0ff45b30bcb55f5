/**
 * The process runner: config → logger → either the cluster primary (WORKERS > 1), which forks workers
 * and serves nothing, or one serving process built by createService. This file alone reads
 * process.env, handles signals and chooses exit codes; create-service.ts does the wiring.
 *
 * why create-service is imported only where it runs: the primary never needs Express, onnxruntime or
 * the registry clients, and loading them before forking delayed every worker's start by ~200 ms.
 */
import cluster from 'node:cluster';
import { constants as osConstants } from 'node:os';
import { makeLoggerOrExit, readConfigOrExit } from './cli/startup.js';
import { loadConfig, type Config } from './config.js';
import { logsWritten, type Logger } from './observability/logger.js';

/** Exits once the logger has written every line, in order; bounded, in case stdout is a pipe nobody reads. */
function exitFlushed(logger: Logger, code: number): void {
  setTimeout(() => process.exit(code), 2_000).unref();
  void logsWritten(logger).then(() => process.exit(code));
}

/** One serving process, alone or as a cluster worker. */
async function serveOne(config: Config, rootLogger: Logger, clustered: boolean): Promise<void> {
  // why: in a cluster, each line says which worker wrote it.
  const logger = clustered ? rootLogger.child({ worker: cluster.worker?.id, pid: process.pid }) : rootLogger;
  const exitOnBug = (kind: string) => (err: unknown) => {
    // why: not exitFlushed: after a bug nothing more may run; pino flushes synchronously on exit.
    logger.fatal({ err }, kind);
    process.exit(1);
  };
  process.on('uncaughtException', exitOnBug('uncaught exception'));
  process.on('unhandledRejection', exitOnBug('unhandled promise rejection'));
  for (const warning of config.deprecations) logger.warn(warning);

  const [{ createService }, { joinCluster, reportReady }] = await Promise.all([import('./create-service.js'), import('./cluster.js')]);
  const service = createService(config, logger, { cwd: process.cwd(), clusterMetrics: clustered ? joinCluster : undefined, clustered });

  // why: in a terminal nobody's load balancer routes here, so Ctrl-C stops without the drain window.
  const interactive = process.stdin.isTTY === true || process.stdout.isTTY === true;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // why: a second signal (Ctrl-C twice) means now: no waiting for anything.
      logger.warn({ signal }, 'second stop signal: exiting now');
      exitFlushed(logger, 128 + (osConstants.signals[signal] ?? 0));
      return;
    }
    stopping = true;
    service.stop(signal, { immediate: signal === 'SIGINT' && interactive }).then(
      (clean) => exitFlushed(logger, clean ? 0 : 1),
      (err: unknown) => exitOnBug('shutdown failed')(err),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await service.start({ listen: clustered ? 'after-load' : 'before-load' });
  } catch (err) {
    if (stopping) return;
    const e = err as NodeJS.ErrnoException & { registry?: string };
    if (e.code === 'EADDRINUSE') {
      logger.fatal({ host: config.HOST, port: config.PORT }, `cannot listen on ${config.HOST}:${config.PORT}: the port is already in use`);
    } else {
      logger.fatal({ err, model_uri: config.MODEL_URI.text, registry: e.registry }, `cannot load the model: ${e.message}`);
    }
    exitFlushed(logger, 1);
    return;
  }
  if (clustered && !stopping) reportReady();
}

async function main(): Promise<void> {
  const config = readConfigOrExit(loadConfig);
  const clustered = config.WORKERS > 1;
  const rootLogger = makeLoggerOrExit(config);
  if (clustered && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.js');
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

main().catch((err: unknown) => {
  process.stderr.write(`start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
