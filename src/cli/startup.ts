/**
 * What every runner shares (src/server.ts, src/stream.ts): parse the settings and build the logger, or
 * exit 1 with one line on stderr; exit on a bug; stop on SIGTERM/SIGINT; exit once every log line is
 * written. Only runners import this: it reads process.* and calls process.exit.
 */
import { constants as osConstants } from 'node:os';
import { ConfigError } from '../config.js';
import { createLogger, logsWritten, type Logger } from '../observability/logger.js';

/** One line on stderr, exit 1. */
export function failStartup(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** `load(process.env)`, or exit 1 with its ConfigError's one line. */
export function readConfigOrExit<T>(load: (env: NodeJS.ProcessEnv) => T): T {
  try {
    return load(process.env);
  } catch (err) {
    if (err instanceof ConfigError) failStartup(err.message);
    throw err;
  }
}

/** The logger the settings ask for, or exit 1 when LOG_PRETTY=true cannot be honoured. */
export function makeLoggerOrExit(config: {
  LOG_LEVEL: string;
  LOG_PRETTY: boolean;
  LOG_BUFFER_BYTES: number;
  LOG_FLUSH_MS: number;
}): Logger {
  try {
    return createLogger({
      level: config.LOG_LEVEL,
      pretty: config.LOG_PRETTY,
      bufferBytes: config.LOG_BUFFER_BYTES,
      flushMs: config.LOG_FLUSH_MS,
    });
  } catch (err) {
    failStartup(`invalid configuration: LOG_PRETTY=true needs the pino-pretty dev dependency (${(err as Error).message})`);
  }
}

/** Exits once the logger has written every line, in order; bounded, in case stdout is a pipe nobody reads. */
export function exitFlushed(logger: Logger, code: number): void {
  setTimeout(() => process.exit(code), 2_000).unref();
  void logsWritten(logger).then(() => process.exit(code));
}

/** Logs `kind` with the error at fatal and exits 1 at once. */
export type ExitOnBug = (kind: string) => (err: unknown) => never;

/** Makes uncaught exceptions and unhandled rejections exit 1 after one fatal line; returns the same exit for the runner's own bugs. */
export function exitOnBugs(logger: Logger): ExitOnBug {
  // why: not exitFlushed: after a bug nothing more may run; pino flushes synchronously on exit.
  const exitOnBug: ExitOnBug = (kind) => (err) => {
    logger.fatal({ err }, kind);
    process.exit(1);
  };
  process.on('uncaughtException', exitOnBug('uncaught exception'));
  process.on('unhandledRejection', exitOnBug('unhandled promise rejection'));
  return exitOnBug;
}

export interface StopControl {
  /** Whether a stop has begun (a start-up failure caused by the stop itself is not one to report). */
  stopping(): boolean;
  /**
   * Begins the stop a first `signal` would begin, unless one has begun. A request is not a signal: the
   * signal itself may still arrive (the cluster primary asks, while the same signal reaches the whole
   * process group), and counts as the first.
   */
  request(signal: NodeJS.Signals): void;
}

/**
 * SIGTERM and SIGINT call `stop` once, then exit 0 when it resolves true (a clean stop), 1 otherwise. A
 * second signal (Ctrl-C twice) means now: exit 128 + its number without waiting.
 */
export function stopOnSignals(logger: Logger, exitOnBug: ExitOnBug, stop: (signal: NodeJS.Signals) => Promise<boolean>): StopControl {
  let stopping = false;
  let signalled = false;
  const begin = (signal: NodeJS.Signals) => {
    stopping = true;
    stop(signal).then(
      (clean) => exitFlushed(logger, clean ? 0 : 1),
      (err: unknown) => exitOnBug('shutdown failed')(err),
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!signalled) {
      signalled = true;
      if (!stopping) begin(signal);
      return;
    }
    logger.warn({ signal }, 'second stop signal: exiting now');
    exitFlushed(logger, 128 + (osConstants.signals[signal] ?? 0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    stopping: () => stopping,
    request: (signal) => {
      if (!stopping) begin(signal);
    },
  };
}

/** The one fatal line of a process that could not start: its port taken, or its model not loaded. */
export function logStartFailure(logger: Logger, err: unknown, listen: { host: string; port: number }, modelUri: string): void {
  const e = err as NodeJS.ErrnoException & { registry?: string };
  if (e.code === 'EADDRINUSE') {
    logger.fatal(listen, `cannot listen on ${listen.host}:${listen.port}: the port is already in use`);
  } else {
    logger.fatal({ err, model_uri: modelUri, registry: e.registry }, `cannot load the model: ${e.message}`);
  }
}

/** The last resort of a runner's main(): a failure before the logger existed, on stderr. */
export function exitOnStartupCrash(err: unknown): never {
  process.stderr.write(`start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
