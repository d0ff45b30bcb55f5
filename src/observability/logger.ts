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
  /** Epoch milliseconds for the lines' time; Date.now by default. Tests pin it. */
  now?: () => number;
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
  const base = { level: options.level, base: { service: 'taxi-ride-duration' }, timestamp: cachedIsoTime(options.now) };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  if (options.destination !== undefined) return withRequestLines(pino(base, options.destination), base, options.destination);
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
  if (bufferBytes === 0) return withRequestLines(pino(base, destination), base, destination);
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
  const logger = pino(
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
  return withRequestLines(logger, base, destination);
}

/** The fields of the per-request line (http/request-context.ts); undefined ones are left out, as pino does. */
export interface RequestLineFields {
  readonly req_id: string;
  readonly trace_id?: string;
  readonly method?: string;
  readonly route: string;
  readonly path?: string;
  readonly status: number;
  readonly latency_ms: number;
  readonly model_version?: string;
  readonly invalid_fields?: readonly string[];
  readonly aborted?: true;
}

/** Writes one per-request line at `level`; the caller has checked `logger.isLevelEnabled(level)`. */
export type RequestLineWriter = (level: 'info' | 'debug', fields: RequestLineFields) => void;

const REQUEST_LINES = new WeakMap<Logger, RequestLineWriter>();

/**
 * The per-request line, written straight to the logger's destination in exactly the bytes pino would
 * write (tests/observability/logger.test.ts holds the two equal, field by field and escape by escape).
 * why: pino's generic serializer (a key loop, serializer lookups, a type switch per value) was ≈ 10 %
 * of a prediction's CPU under load, for a line whose fields are always the same few
 * (docs/performance.md). Loggers this module did not build (children, pretty) go through pino.
 */
export function requestLineWriter(logger: Logger): RequestLineWriter {
  return REQUEST_LINES.get(logger) ?? ((level, fields) => logger[level](fields, REQUEST_LOG_MESSAGE));
}

function withRequestLines(
  logger: Logger,
  options: { base: Record<string, string>; timestamp: () => string },
  destination: DestinationStream,
): Logger {
  // pino's own layout: level, time, then the base bindings, the line's fields, the message.
  let bindings = '';
  for (const [key, value] of Object.entries(options.base)) bindings += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  const levels = { info: `{"level":${logger.levels.values.info}`, debug: `{"level":${logger.levels.values.debug}` };
  const time = options.timestamp;
  const end = `,"msg":${JSON.stringify(REQUEST_LOG_MESSAGE)}}\n`;
  REQUEST_LINES.set(logger, (level, f) => {
    let line = levels[level] + time() + bindings;
    line += `,"req_id":${JSON.stringify(f.req_id)}`;
    if (f.trace_id !== undefined) line += `,"trace_id":${JSON.stringify(f.trace_id)}`;
    if (f.method !== undefined) line += `,"method":${JSON.stringify(f.method)}`;
    line += `,"route":${JSON.stringify(f.route)}`;
    if (f.path !== undefined) line += `,"path":${JSON.stringify(f.path)}`;
    line += `,"status":${f.status},"latency_ms":${JSON.stringify(f.latency_ms)}`;
    if (f.model_version !== undefined) line += `,"model_version":${JSON.stringify(f.model_version)}`;
    if (f.invalid_fields !== undefined) line += `,"invalid_fields":${JSON.stringify(f.invalid_fields)}`;
    if (f.aborted !== undefined) line += ',"aborted":true';
    destination.write(line + end);
  });
  return logger;
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
