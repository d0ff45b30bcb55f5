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
const REQUEST_LOG_MESSAGE = 'request';

/** What this module reads of sonic-boom, pino's destination, beyond the DestinationStream type. */
interface SonicBoomState {
  _opening?: boolean;
  _writing?: boolean;
  once?: (event: string, listener: () => void) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  // why: ISO 8601 times read the same in a terminal, a log store and a bug report; epoch milliseconds do not.
  const base = { level: options.level, base: { service: 'taxi-ride-duration' }, timestamp: cachedIsoTime(options.now) };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  if (options.destination !== undefined) {
    const destination = options.destination;
    return withRequestLines(pino(base, destination), base, (line) => destination.write(line));
  }
  // why synchronous writes (pino's default, and what node's own process.stdout does for files and pipes on
  // Linux): an asynchronous write is a round trip through libuv's thread pool, ≈ 2 µs of CPU a request
  // under load (docs/performance.md), and the buffer below already joins the request lines into one write.
  // What it risks: a log reader that stops reading stalls the service instead of growing its memory.
  const destination = pino.destination({ dest: options.dest ?? 1, sync: true });
  const bufferBytes = options.bufferBytes ?? 0;
  if (bufferBytes === 0) return withRequestLines(pino(base, destination), base, (line) => destination.write(line));
  // why: request lines are also collected here, up to bufferBytes or flushMs (docs/performance.md), so under
  // load one write carries many of them instead of one syscall per request. Here, not in sonic-boom's own
  // buffer (minLength): sonic-boom measures its whole pending buffer with Buffer.byteLength on every
  // write, which copied ≈ 2 KB a request. Every other line first writes out the request lines before it
  // and is then written at once, so start-up lines, warnings and errors are never held back and the
  // order is kept; a process killed with SIGKILL loses at most flushMs of request lines.
  const pending = lineBuffer((text) => destination.write(text), bufferBytes, options.flushMs ?? 250);
  const logger = pino(
    {
      ...base,
      hooks: {
        logMethod(args, method) {
          pending.drain();
          method.apply(this, args);
        },
      },
    },
    destination,
  );
  (logger as Internals)[PENDING] = pending.drain;
  return withRequestLines(logger, base, pending.add);
}

/**
 * What createLogger hangs on the loggers it builds. Properties of the root logger, so its children
 * (pino builds a child with Object.create) reach them too.
 */
const PENDING = Symbol('pendingRequestLines');
const REQUEST_LINES = Symbol('requestLines');
interface RequestLineParts {
  readonly levels: Readonly<Record<'info' | 'debug', string>>;
  readonly time: () => string;
  readonly end: string;
  readonly write: (line: string) => void;
}
type Internals = Logger & { [PENDING]?: () => void; [REQUEST_LINES]?: RequestLineParts };

/**
 * Lines collected into one string until the next would take it past `bytes` (UTF-16 units, close enough
 * for these ASCII lines), it reaches `bytes`, or `flushMs` passes. Exported for its tests.
 */
export function lineBuffer(write: (text: string) => void, bytes: number, flushMs: number) {
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (text === '') return;
    const out = text;
    text = '';
    write(out);
  };
  return {
    drain,
    add(line: string) {
      // why: no write longer than `bytes` (but for a single longer line): at the default 4,096, PIPE_BUF, the
      // workers of a cluster sharing one stdout pipe cannot interleave their writes, even when it is full.
      if (text.length + line.length > bytes) drain();
      text += line;
      if (text.length >= bytes) drain();
      else timer ??= setTimeout(drain, flushMs).unref();
    },
  };
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

/**
 * The per-request line, written straight to the logger's destination in exactly the bytes pino would
 * write (tests/observability/logger.test.ts holds the two equal, field by field and escape by escape,
 * for the root logger and a child). why: pino's generic serializer (a key loop, serializer lookups, a
 * type switch per value) was ≈ 10 % of a prediction's CPU under load, for a line whose fields are
 * always the same few (docs/performance.md). For createLogger's loggers and their children with
 * bindings only (a child with its own serializers or formatters must not be given here); pretty and
 * other loggers go through pino.
 */
export function requestLineWriter(logger: Logger): RequestLineWriter {
  const parts = (logger as Internals)[REQUEST_LINES];
  if (parts === undefined) return (level, fields) => logger[level](fields, REQUEST_LOG_MESSAGE);
  // pino's own layout: level, time, the bindings (base and a child's, as pino serialized them), the line's fields, the message
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym];
  const { levels, time, end, write } = parts;
  // why: JSON.stringify of every field was half of the line's CPU (docs/performance.md). Ids need no
  // escaping in practice, so a check lets them be quoted as they are; the method, route and model version
  // repeat from line to line, so each keeps its last JSON text.
  const method = lastJson();
  const route = lastJson();
  const version = lastJson();
  return (level, f) => {
    let line = levels[level] + time() + bindings;
    line += `,"req_id":${quoted(f.req_id)}`;
    if (f.trace_id !== undefined) line += `,"trace_id":${quoted(f.trace_id)}`;
    if (f.method !== undefined) line += `,"method":${method(f.method)}`;
    line += `,"route":${route(f.route)}`;
    if (f.path !== undefined) line += `,"path":${JSON.stringify(f.path)}`;
    line += `,"status":${f.status},"latency_ms":${Number.isFinite(f.latency_ms) ? f.latency_ms : null}`;
    if (f.model_version !== undefined) line += `,"model_version":${version(f.model_version)}`;
    if (f.invalid_fields !== undefined) line += `,"invalid_fields":${JSON.stringify(f.invalid_fields)}`;
    if (f.aborted !== undefined) line += ',"aborted":true';
    write(line + end);
  };
}

/** Characters JSON.stringify never escapes, and all an id is made of (request ids, trace ids, UUIDs). */
const PLAIN = /^[\w.:@/+=-]*$/;

/** `text` as a JSON string: in quotes as it is when it is PLAIN, through JSON.stringify otherwise. */
function quoted(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** JSON.stringify of a string that mostly repeats: the last one's text is kept. */
function lastJson(): (text: string) => string {
  let last: string | undefined;
  let json = '';
  return (text) => {
    if (text !== last) {
      last = text;
      json = JSON.stringify(text);
    }
    return json;
  };
}

function withRequestLines(logger: Logger, options: { timestamp: () => string }, write: (line: string) => void): Logger {
  (logger as Internals)[REQUEST_LINES] = {
    levels: { info: `{"level":${logger.levels.values.info}`, debug: `{"level":${logger.levels.values.debug}` },
    time: options.timestamp,
    end: `,"msg":${JSON.stringify(REQUEST_LOG_MESSAGE)}}\n`,
    write,
  };
  return logger;
}

/**
 * Resolves once the lines logged so far are written. why: an asynchronous destination's flush() (the
 * scoring CLI's, src/score.ts) returns at once, and the synchronous flush pino runs on exit skips a
 * write still in progress, so lines of that write (the last requests of a drain) could land after
 * "stopped". Waiting for that write to end keeps the order.
 */
export async function logsWritten(logger: Logger): Promise<void> {
  (logger as Internals)[PENDING]?.();
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as SonicBoomState | undefined;
  if (stream === undefined || typeof stream.once !== 'function') return;
  // a file destination is opening (writes wait for it), then writing what is pending
  if (stream._opening === true) await new Promise<void>((resolve) => stream.once!('ready', resolve));
  if (stream._writing === true) await new Promise<void>((resolve) => stream.once!('drain', resolve));
}
