/**
 * The stream consumer's runner (`npm run stream`, `node dist/stream.js`): config → logger →
 * createStreamProcess. This file alone reads process.env, handles signals and chooses exit codes
 * (docs/streaming.md): a bad setting exits 1 with one line; Redis being unreachable does not (the
 * consumer reconnects, /readyz says 503); SIGTERM commits the batch in hand and exits 0.
 */
import {
  exitFlushed,
  exitOnBugs,
  exitOnStartupCrash,
  logStartFailure,
  makeLoggerOrExit,
  readConfigOrExit,
  stopOnSignals,
} from './cli/startup.js';
import { loadStreamConfig } from './config.js';

async function main(): Promise<void> {
  const config = readConfigOrExit(loadStreamConfig);
  const logger = makeLoggerOrExit(config).child({ role: 'stream-consumer' });
  const exitOnBug = exitOnBugs(logger);
  const { createStreamProcess } = await import('./stream/create-stream-process.js');
  const consumer = createStreamProcess(config, logger, { cwd: process.cwd() });
  const { stopping } = stopOnSignals(logger, exitOnBug, (signal) => consumer.stop(signal));

  try {
    await consumer.start();
  } catch (err) {
    if (stopping()) return;
    logStartFailure(logger, err, { host: config.HOST, port: config.METRICS_PORT }, config.MODEL_URI.text);
    exitFlushed(logger, 1);
  }
}

main().catch(exitOnStartupCrash);
