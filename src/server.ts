/**
 * The process: config → logger → either the cluster primary (WORKERS > 1), which forks workers and
 * serves nothing, or one serving process (serve.ts). This file is the only one that reads process.env.
 *
 * why serve.ts is imported only where it runs: the primary never needs Express, onnxruntime or the
 * registry clients, and loading them before forking delayed every worker's start by ~200 ms (issue 5).
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './observability/logger.js';
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

function makeLogger(config: Config): Logger {
  try {
    return createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
  } catch (err) {
    fail(`invalid configuration: LOG_PRETTY=true needs the pino-pretty dev dependency (${(err as Error).message})`);
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const clustered = config.WORKERS > 1;
  const rootLogger = makeLogger(config);
  if (clustered && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.js');
    runPrimary({
      workers: config.WORKERS,
      logger: rootLogger.child({ role: 'primary' }),
      shutdownBudgetMs: config.SHUTDOWN_DRAIN_MS + config.SHUTDOWN_TIMEOUT_MS + 5_000,
    });
    return;
  }
  const { serve } = await import('./serve.js');
  await serve(config, rootLogger, clustered);
}

main().catch((err: unknown) => {
  process.stderr.write(`start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
