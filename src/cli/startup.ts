/**
 * The first steps every runner shares (src/server.ts, src/stream.ts): parse the settings and build the
 * logger, or exit 1 with one line on stderr. Only runners import this: it calls process.exit.
 */
import { ConfigError } from '../config.js';
import { createLogger, type Logger } from '../observability/logger.js';

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
