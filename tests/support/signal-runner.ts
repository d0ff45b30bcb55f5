/**
 * A runner for tests/cli/startup.test.ts, run as its own process (process.on and process.exit are the
 * point): the shared signal handling of src/server.ts and src/stream.ts, with a stop that resolves when
 * told to on stdin ("clean" or anything else), "request" asking for a stop as the cluster primary does
 * (and from then on logging "saw SIGTERM"), and a logger buffering request lines as the service's does.
 */
import { exitOnBugs, stopOnSignals } from '../../src/cli/startup.js';
import { createLogger, requestLineWriter } from '../../src/observability/logger.js';

const logger = createLogger({ level: 'info', bufferBytes: 16000, flushMs: 10000 });
const exitOnBug = exitOnBugs(logger);
let finish: ((clean: boolean) => void) | undefined;
const control = stopOnSignals(logger, exitOnBug, (signal) => {
  logger.info({ signal }, 'stopping');
  // 200 request lines held in the logger's buffer (10 s flush), then the stop's result
  const line = requestLineWriter(logger);
  for (let i = 0; i < 200; i++) line('info', { req_id: String(i), route: '/predict', status: 200, latency_ms: 1 });
  return new Promise<boolean>((resolve) => (finish = resolve));
});
process.stdin.on('data', (d: Buffer) => {
  const command = d.toString().trim();
  if (command === 'request') {
    // why only here: a log line writes out the buffered request lines before it, which would hide an
    // exit that does not wait for them. Registered after stopOnSignals' own listener, it is logged once
    // that one has handled the signal.
    process.on('SIGTERM', () => logger.info('saw SIGTERM'));
    control.request('SIGTERM');
  } else finish?.(command === 'clean');
});
logger.info('ready');
