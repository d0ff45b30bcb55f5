/**
 * The stream consumer's runner (`npm run stream`, `node dist/stream.js`): config → logger →
 * createStreamProcess. This file alone reads process.env, handles signals and chooses exit codes
 * (docs/streaming.md): a bad setting exits 1 with one line; Redis being unreachable does not (the
 * consumer reconnects, /readyz says 503); SIGTERM commits the batch in hand and exits 0.
 */
import { makeLoggerOrExit, readConfigOrExit } from './cli/startup.js';
import { loadStreamConfig } from './config.js';

async function main(): Promise<void> {
  const config = readConfigOrExit(loadStreamConfig);
  const logger = makeLoggerOrExit(config).child({ role: 'stream-consumer' });
  const exitOnBug = (kind: string) => (err: unknown) => {
    logger.fatal({ err }, kind);
    process.exit(1);
  };
  process.on('uncaughtException', exitOnBug('uncaught exception'));
  process.on('unhandledRejection', exitOnBug('unhandled promise rejection'));

  const { createStreamProcess } = await import('./stream/create-stream-process.js');
  const consumer = createStreamProcess(config, logger, { cwd: process.cwd() });
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    consumer.stop(signal).then(
      (clean) => process.exit(clean ? 0 : 1),
      (err: unknown) => exitOnBug('shutdown failed')(err),
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  try {
    await consumer.start();
  } catch (err) {
    if (stopping) return;
    const e = err as NodeJS.ErrnoException & { registry?: string };
    if (e.code === 'EADDRINUSE') {
      logger.fatal(
        { host: config.HOST, port: config.METRICS_PORT },
        `cannot listen on ${config.HOST}:${config.METRICS_PORT}: the port is already in use`,
      );
    } else {
      logger.fatal({ err, model_uri: config.MODEL_URI.text, registry: e.registry }, `cannot load the model: ${e.message}`);
    }
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
