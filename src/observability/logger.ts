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
  /** Where the JSON lines are written when no destination is given: stdout (1) by default; tests pass a file. */
  dest?: number | string;
  /** Bytes of request lines collected before a write (0 = none), and the longest a line waits. */
  bufferBytes?: number;
  flushMs?: number;
}

/**
 * pino's ISO time, formatted once per millisecond. why: under load several lines share each
 * millisecond, and formatting a Date took ≈ 1.3 µs of each request line in a CPU profile under load.
 */
export function cachedIsoTime(now: () => number = Date.now): () => string {
  let lastMs = Number.NaN;
  let last = '';
  return () => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      last = `,"time":"${new Date(ms).toISOString()}"`;
    }
    return last;
  };
}

/** The message of the per-request line (http/request-context.ts): the only line a buffer may hold back. */
export const REQUEST_LOG_MESSAGE = 'request';

/** What this module reads of sonic-boom, pino's destination, beyond the DestinationStream type. */
interface SonicBoomState {
  _writing?: boolean;
  _len?: number;
  minLength?: number;
  once?: (event: string, listener: () => void) => void;
  flush?: (cb?: (err?: Error) => void) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  // why: ISO 8601 times read the same in a terminal, a log store and a bug report; epoch milliseconds do not.
  const base = { level: options.level, base: { service: 'taxi-ride-duration' }, timestamp: cachedIsoTime() };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  if (options.destination !== undefined) return pino(base, options.destination);
  // why: asynchronous, buffered writes (docs/performance.md): request lines collect until bufferBytes or
  // flushMs, and lines logged while a write is pending are coalesced into the next one, so under load one
  // write carries many request lines instead of one syscall per request. Every other line (start-up,
  // warnings, errors, shutdown) is written at once, so a process killed with SIGKILL loses at most
  // flushMs of request lines. pino flushes synchronously on process exit.
  const bufferBytes = options.bufferBytes ?? 0;
  const destination = pino.destination({
    dest: options.dest ?? 1,
    sync: false,
    ...(bufferBytes > 0 ? { minLength: bufferBytes, periodicFlush: options.flushMs ?? 250 } : {}),
  });
  if (bufferBytes === 0) return pino(base, destination);
  const stream = destination as unknown as SonicBoomState;
  let flushOnDrain = false;
  const writeNow = () => {
    if (stream._writing !== true) {
      stream.flush!();
    } else if (!flushOnDrain) {
      // why: lines that arrive during a write stay in the buffer after it when they are under minLength.
      flushOnDrain = true;
      stream.once!('drain', () => {
        flushOnDrain = false;
        if ((stream._len ?? 0) > 0) stream.flush!();
      });
    }
  };
  return pino(
    {
      ...base,
      hooks: {
        logMethod(args, method) {
          method.apply(this, args);
          if (args[1] !== REQUEST_LOG_MESSAGE) writeNow();
        },
      },
    },
    destination,
  );
}

/**
 * Resolves once the lines logged so far are written. why: the asynchronous destination's flush()
 * returns at once, and the synchronous flush pino runs on exit skips a write still in progress, so
 * lines of that write (the last requests of a drain) could land after "stopped". Waiting for that
 * write to end keeps the order.
 */
export async function logsWritten(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as SonicBoomState | undefined;
  if (stream === undefined || typeof stream.once !== 'function') return;
  // why: a buffered destination keeps what is under minLength after each write; flush until it is empty
  // (each round writes at least what was buffered when it started, so a few rounds suffice).
  if ((stream.minLength ?? 0) > 0 && typeof stream.flush === 'function') {
    for (let round = 0; round < 64 && (stream._writing === true || (stream._len ?? 0) > 0); round++) {
      await new Promise<void>((resolve) => stream.flush!(() => resolve()));
    }
    return;
  }
  if (stream._writing === true) await new Promise<void>((resolve) => stream.once!('drain', resolve));
}
