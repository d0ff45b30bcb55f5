/**
 * The service's request listener. JSON POST routes (predictions, and every other protocol that posts
 * a JSON body) are served here, outside Express's router; everything else goes to Express.
 *
 * why: POST /predict is nearly all of the traffic, and on it Express's own dispatch (layer stack,
 * request/response prototype swap) cost more than the model (docs/performance.md). Handlers here are
 * typed as what they receive — a parsed body, a request context, the node request — and return the
 * reply, so an Express-only call cannot compile on this path.
 *
 * Paths match as Express matches them by default: case-insensitive, an optional trailing slash, the
 * query string ignored; so every spelling Express would accept takes this same path. Segments that
 * start with `:` match any one non-empty segment and are passed to the handler as `params`.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ErrorResponder } from './error-middleware.js';
import type { Admission } from './in-flight-limit.js';
import type { JsonBodyReader } from './json-body.js';
import type { ErrorStyle } from './problem.js';
import type { BeginRequest, RequestContext } from './request-context.js';
import { setHeaderList } from './security-headers.js';

export interface JsonReply {
  /** 200 when absent. */
  readonly status?: number;
  /** The serialized JSON body. */
  readonly body: string;
  /** Sent after the base headers, before Content-Type and Content-Length (which the router sets): none of those again. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type JsonHandler = (
  body: unknown,
  ctx: RequestContext,
  req: IncomingMessage,
  params: Readonly<Record<string, string>>,
) => JsonReply | Promise<JsonReply>;

/** A POST route with a JSON body, behind the in-flight limit. */
export interface JsonRoute {
  /** Pattern such as `/predict` or `/v2/models/:model/infer`; also the metrics' route label. */
  readonly path: string;
  readonly handler: JsonHandler;
  /** Errors in the protocol's own format (OIP, MLflow); problem+json when absent. */
  readonly errorStyle?: ErrorStyle;
}

/** Connect-style middleware that runs on every request before routing (CORS). */
export type Prelude = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface RouterDeps {
  readonly routes: readonly JsonRoute[];
  readonly begin: BeginRequest;
  /**
   * The headers every answer carries (security headers, the request id), as a flat name, value… list:
   * sent with the reply in one writeHead, or set before the error responder answers. None when absent.
   */
  readonly baseHeaders?: (ctx: RequestContext) => string[];
  readonly prelude?: Prelude;
  readonly admit: Admission;
  readonly readBody: JsonBodyReader;
  readonly respondError: ErrorResponder;
  /** Every request that is not a POST to one of `routes`. */
  readonly fallback: RequestListener;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** `/Predict/?x=1` → `/Predict`: what Express's default (non-strict) matching ignores. Case is compared later. */
export function normalizePath(url: string): string {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (path.length > 1 && path.charCodeAt(path.length - 1) === 47 /* / */) path = path.slice(0, -1);
  return path;
}

interface Pattern<T> {
  readonly route: T;
  readonly segments: readonly string[];
}

/**
 * Finds the route a (normalized) path takes, as the router matches it: exact paths first, then
 * `:param` patterns. Also names the route a CORS preflight asks about (app.ts).
 */
export function routeMatcher<T extends { readonly path: string }>(
  routes: readonly T[],
): (path: string) => { route: T; params: Readonly<Record<string, string>> } | undefined {
  // why: exact matches return a prebuilt result, so the hot path allocates nothing.
  const exact = new Map<string, { route: T; params: Readonly<Record<string, string>> }>();
  const patterns: Pattern<T>[] = [];
  for (const route of routes) {
    const path = route.path.toLowerCase();
    if (path.includes('/:')) patterns.push({ route, segments: path.split('/') });
    else exact.set(path, { route, params: NO_PARAMS });
  }
  return (path) => exact.get(path.toLowerCase()) ?? (patterns.length > 0 ? matchPattern(patterns, path) : undefined);
}

function matchPattern<T>(patterns: readonly Pattern<T>[], path: string): { route: T; params: Record<string, string> } | undefined {
  const parts = path.split('/');
  for (const { route, segments } of patterns) {
    if (segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const seg = segments[i];
      if (seg.startsWith(':')) {
        ok = parts[i].length > 0;
        if (ok) params[seg.slice(1)] = decodeURIComponentSafe(parts[i]);
      } else ok = seg === parts[i].toLowerCase();
    }
    if (ok) return { route, params };
  }
  return undefined;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function createRouter(deps: RouterDeps): RequestListener {
  const { begin, prelude, admit, readBody, respondError, fallback } = deps;
  const baseHeaders = deps.baseHeaders ?? (() => []);
  const match = routeMatcher(deps.routes);

  // why: one writeHead with a flat list instead of a setHeader per header: setHeader files each header in
  // a per-response dictionary and validates it, ≈ 0.15 µs a header, a dozen per answer (docs/performance.md).
  // Headers something set earlier (CORS, tracing) are merged by writeHead itself.
  const send = (res: ServerResponse, ctx: RequestContext, reply: JsonReply): void => {
    const headers = baseHeaders(ctx);
    if (reply.headers !== undefined) for (const name in reply.headers) headers.push(name, reply.headers[name]);
    headers.push('Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(reply.body)));
    res.writeHead(reply.status ?? 200, headers);
    res.end(reply.body);
  };
  const fail = (err: unknown, ctx: RequestContext, req: IncomingMessage, res: ServerResponse): void => {
    if (!res.headersSent) setHeaderList(res, baseHeaders(ctx));
    respondError(err, req, res);
  };

  const serve = (route: JsonRoute, params: Readonly<Record<string, string>>, req: IncomingMessage, res: ServerResponse) => {
    const ctx = begin(req, res);
    ctx.route = route.path;
    if (route.errorStyle !== undefined) ctx.errorStyle = route.errorStyle;
    const run = () => {
      if (!admit(res, () => setHeaderList(res, baseHeaders(ctx)))) return;
      readBody(req, res)
        .then((body) => route.handler(body, ctx, req, params))
        .then(
          (reply) => send(res, ctx, reply),
          (err: unknown) => fail(err, ctx, req, res),
        )
        .catch((err: unknown) => fail(err, ctx, req, res));
    };
    if (prelude === undefined) run();
    else prelude(req, res, run);
  };

  return (req, res) => {
    if (req.method === 'POST') {
      const found = match(normalizePath(req.url ?? '/'));
      if (found !== undefined) return serve(found.route, found.params, req, res);
    }
    fallback(req, res);
  };
}
