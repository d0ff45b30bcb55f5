/**
 * The HTTP layer under the MLflow client: credentials, per-request timeout, retries with exponential
 * backoff, and the translation of MLflow's replies (JSON envelope or not) into RegistryError. It mirrors
 * what MLflow's Python client does (docs/mlflow-rest-contract.md, "Credentials, timeouts and retries") so a server that works with `mlflow` works with us.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { RegistryError } from './errors.js';

/**
 * MLflow's defaults (docs/mlflow-rest-contract.md, "Credentials, timeouts and retries", MLflow ≥ 2.20: 7 retries); the
 * MLFLOW_* variables are read in src/config.ts, which imports them from here rather than from client.ts so
 * that parsing the config does not load the client and its schemas (docs/performance.md, "Start-up").
 */
export const MLFLOW_HTTP_DEFAULTS = { timeoutMs: 120_000, maxRetries: 7, backoffFactor: 2, backoffJitter: 1 } as const;

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** What the client logs: pino's Logger fits, and so does a test's recording object. */
export interface RegistryLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface TransportOptions {
  fetch: FetchLike;
  /** Value of the Authorization header, or undefined for none. */
  authorization: string | undefined;
  /** Idle timeout per request: no response or no body bytes for this long aborts the attempt. */
  timeoutMs: number;
  maxRetries: number;
  /** Seconds; the n-th retry (n ≥ 2) waits backoffFactor × 2^(n−1). The first retry is immediate. */
  backoffFactor: number;
  /** Seconds; up to this much random delay is added to each wait. */
  backoffJitter: number;
  logger: RegistryLogger | undefined;
}

/** urllib3's status_forcelist in MLflow's retry policy (docs/mlflow-rest-contract.md, "Credentials, timeouts and retries"). */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** urllib3's default cap on one backoff wait, also applied to Retry-After. */
const MAX_BACKOFF_S = 120;
const USER_AGENT = 'taxi-ride-duration-mlflow-client/1';
const MAX_ERROR_BODY = 64 * 1024;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  json?: unknown;
  body?: Uint8Array;
  contentType?: string;
  /**
   * `all` (MLflow's policy: every method, every retryable failure) or `refused` for calls that must not
   * run twice (creating a model version): retry only when the server surely did nothing (connection
   * refused, 429, 503).
   */
  retry?: 'all' | 'refused';
}

/** A finished 2xx exchange and its whole body. */
export interface HttpReply {
  status: number;
  contentType: string;
  body: Buffer;
}

export interface Transport {
  /** Sends the request (with retries) and returns a 2xx reply; anything else throws RegistryError. */
  send(request: HttpRequest): Promise<HttpReply>;
  /** GETs `url` into the file `path` (truncated on each attempt); returns the byte count. */
  download(url: URL, path: string): Promise<number>;
}

export function createTransport(options: TransportOptions): Transport {
  const attempt = async (req: HttpRequest, sinkPath?: string) => {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: sinkPath ? '*/*' : 'application/json' };
    if (options.authorization) headers.Authorization = options.authorization;
    let body: string | Uint8Array | undefined;
    if (req.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/octet-stream';
      body = req.body;
    }
    const idle = createIdleTimer(options.timeoutMs);
    try {
      const res = await options.fetch(req.url, { method: req.method, headers, body, signal: idle.signal, redirect: 'follow' });
      idle.touch();
      const contentType = res.headers.get('content-type') ?? '';
      const ok = res.status >= 200 && res.status < 300;
      const retryAfter = res.headers.get('retry-after');
      if (ok && sinkPath) {
        const bytes = await readToFile(res, sinkPath, idle.touch);
        return { status: res.status, contentType, body: Buffer.alloc(0), bytes, retryAfter };
      }
      // why: an error page is only read for its first lines; a proxy's huge error body is not buffered.
      const all = await readAll(res, idle.touch, ok ? Infinity : MAX_ERROR_BODY);
      return { status: res.status, contentType, body: all, bytes: all.length, retryAfter };
    } catch (err) {
      throw idle.timedOut() ? new TimeoutFailure(options.timeoutMs) : err;
    } finally {
      idle.stop();
    }
  };

  const run = async (req: HttpRequest, sinkPath?: string): Promise<HttpReply & { bytes: number }> => {
    const where = redact(req.url);
    for (let n = 0; ; n++) {
      const retriesLeft = n < options.maxRetries;
      let reply: Awaited<ReturnType<typeof attempt>>;
      try {
        reply = await attempt(req, sinkPath);
      } catch (err) {
        const refused = errorCode(err) === 'ECONNREFUSED';
        if (retriesLeft && (req.retry !== 'refused' || refused)) {
          await backoff(n + 1, undefined, { req, where, reason: describe(err) });
          continue;
        }
        throw unreachable(req, where, err, n);
      }
      if (reply.status >= 200 && reply.status < 300) {
        return { status: reply.status, contentType: reply.contentType, body: reply.body, bytes: reply.bytes };
      }
      const retryable = req.retry === 'refused' ? reply.status === 429 || reply.status === 503 : RETRY_STATUSES.has(reply.status);
      if (retriesLeft && retryable) {
        await backoff(n + 1, reply.retryAfter, { req, where, reason: `HTTP ${reply.status}` });
        continue;
      }
      throw httpError(req, where, reply.status, reply.contentType, reply.body, retryable ? n : 0);
    }
  };

  const backoff = async (
    retry: number,
    retryAfter: string | null | undefined,
    ctx: { req: HttpRequest; where: string; reason: string },
  ) => {
    const fromHeader = retryAfter != null && /^\d+(\.\d+)?$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
    const exp = retry === 1 ? 0 : options.backoffFactor * 2 ** (retry - 1);
    const seconds = Math.min(MAX_BACKOFF_S, fromHeader ?? exp) + Math.random() * options.backoffJitter;
    options.logger?.warn(
      { method: ctx.req.method, url: ctx.where, retry, of: options.maxRetries, waitMs: Math.round(seconds * 1000) },
      `MLflow request failed (${ctx.reason}); retrying`,
    );
    if (seconds > 0) await new Promise((r) => setTimeout(r, seconds * 1000));
  };

  return {
    send: (req) => run(req),
    download: async (url, path) => (await run({ method: 'GET', url }, path)).bytes,
  };
}

class TimeoutFailure extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no response for ${timeoutMs / 1000}s`);
  }
}

/** An AbortSignal that fires after `ms` without progress; `touch` marks progress (a header, a chunk). */
function createIdleTimer(ms: number) {
  const controller = new AbortController();
  let fired = false;
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      fired = true;
      controller.abort(new TimeoutFailure(ms));
    }, ms);
  };
  touch();
  return { signal: controller.signal, touch, stop: () => clearTimeout(timer), timedOut: () => fired };
}

async function readAll(res: Response, touch: () => void, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      touch();
      chunks.push(Buffer.from(chunk));
      size += chunk.length;
      if (size >= limit) break; // leaving the loop cancels the rest of the stream
    }
  }
  return Buffer.concat(chunks);
}

/** Streams the body into `path`; resolves to the byte count. */
async function readToFile(res: Response, path: string, touch: () => void): Promise<number> {
  const out = createWriteStream(path, { flags: 'w' });
  let bytes = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        touch();
        bytes += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
      }
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    throw err;
  }
  return bytes;
}

function errorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  const code = cause?.code ?? (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(err: unknown): string {
  if (err instanceof TimeoutFailure) return err.message;
  const cause = (err as { cause?: unknown })?.cause;
  const code = errorCode(err);
  const detail = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  return code && !detail.includes(code) ? `${code}: ${detail}` : detail;
}

/** The URL for messages and logs, without credentials. */
export function redact(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy.toString();
}

function unreachable(req: HttpRequest, where: string, err: unknown, retries: number): RegistryError {
  const after = retries > 0 ? ` after ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
  if (err instanceof TimeoutFailure) {
    return new RegistryError(
      'unavailable',
      `MLflow request ${req.method} ${where} timed out (${err.message}; MLFLOW_HTTP_REQUEST_TIMEOUT)${after}`,
      { url: where, cause: err },
    );
  }
  return new RegistryError(
    'unavailable',
    `cannot reach MLflow at ${new URL(where).host} (${req.method} ${where}): ${describe(err)}${after}`,
    { url: where, cause: err },
  );
}

interface Envelope {
  error_code: string;
  message?: string;
}

function parseEnvelope(contentType: string, body: Buffer): Envelope | undefined {
  if (!/json/i.test(contentType)) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    const code = (parsed as { error_code?: unknown })?.error_code;
    return typeof code === 'string' ? (parsed as Envelope) : undefined;
  } catch {
    return undefined;
  }
}

/** A short, single-line excerpt of a plain-text error body; HTML is never echoed. */
function textExcerpt(contentType: string, body: Buffer): string | undefined {
  const text = body.toString('utf8').trim();
  if (!text || /html/i.test(contentType) || /^<(!doctype|html|\?xml)/i.test(text)) return undefined;
  const line = text.split('\n')[0].trim();
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

function httpError(req: HttpRequest, where: string, status: number, contentType: string, body: Buffer, retries: number): RegistryError {
  const envelope = parseEnvelope(contentType, body);
  // why: MLflow's Python client infers these codes for a non-JSON 404/500 (docs/mlflow-rest-contract.md, "Errors"); callers
  // branch on ENDPOINT_NOT_FOUND (e.g. the POST→GET fallback of get-latest-versions).
  const mlflowCode = envelope?.error_code ?? (status === 404 ? 'ENDPOINT_NOT_FOUND' : status >= 500 ? 'INTERNAL_ERROR' : undefined);
  const said = envelope ? `${envelope.error_code}: ${envelope.message ?? ''}`.trim() : textExcerpt(contentType, body);
  const details = { status, mlflowCode, url: where };
  const suffix = said ? ` (server said: ${said})` : '';
  if (status === 401 || status === 403) {
    const hostCheck = said?.includes('Invalid Host header')
      ? '; the server rejects the Host header: start it with --allowed-hosts (MLFLOW_SERVER_ALLOWED_HOSTS) including this host'
      : '';
    return new RegistryError(
      'unauthorized',
      `authentication failed (${status}) at ${where}: check MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and ` +
        `MLFLOW_TRACKING_PASSWORD, and the user's permissions${suffix}${hostCheck}`,
      details,
    );
  }
  if (status === 404 && envelope) return new RegistryError('not_found', envelope.message ?? `not found: ${where}`, details);
  if (status === 404) {
    return new RegistryError(
      'not_found',
      `${req.method} ${where} answered 404 without MLflow's JSON error (unknown endpoint or missing artifact; ` +
        'is the tracking URI right, and is the server new enough for this call?)',
      details,
    );
  }
  if (status === 400 && envelope?.error_code === 'RESOURCE_DOES_NOT_EXIST') {
    return new RegistryError('not_found', envelope.message ?? 'not found', details);
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new RegistryError('rejected', `MLflow refused ${req.method} ${where} with ${status}${suffix}`, details);
  }
  const after = retries > 0 ? ` after ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
  const kind = status === 408 || status === 429 || status >= 500 ? 'unavailable' : 'bad_response';
  return new RegistryError(kind, `MLflow at ${new URL(where).host} answered ${status} to ${req.method} ${where}${after}${suffix}`, details);
}
