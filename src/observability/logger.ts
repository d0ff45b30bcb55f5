/**
 * pino logger: JSON lines on stdout, or pretty lines when LOG_PRETTY asks for them (pino-pretty is a
 * dev dependency, so production images only do JSON).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  pretty?: boolean;
  /** Where lines go; stdout by default. Tests pass a stream and read the lines back. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  // why: ISO 8601 times read the same in a terminal, a log store and a bug report; epoch milliseconds do not.
  const base = { level: options.level, base: { service: 'taxi-ride-duration' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  // why: asynchronous writes (docs/performance.md): a line is handed to the kernel at once when stdout is idle, and
  // lines logged while a write is pending are coalesced into the next one, so under load one write
  // carries many request lines instead of one syscall per request. pino flushes synchronously on
  // process exit, so the last lines before an exit (a fatal error, the end of a drain) are kept.
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: false }));
}

/**
 * Resolves once the lines logged so far are written. why: the asynchronous destination's flush()
 * returns at once, and the synchronous flush pino runs on exit skips a write still in progress, so
 * lines of that write (the last requests of a drain) could land after "stopped". Waiting for that
 * write to end keeps the order.
 */
export function logsWritten(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | { _writing?: boolean; once?: (event: string, listener: () => void) => void }
    | undefined;
  if (stream?._writing !== true || typeof stream.once !== 'function') return Promise.resolve();
  return new Promise((resolve) => stream.once!('drain', resolve));
}
