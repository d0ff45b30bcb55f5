/**
 * The app: wiring only. No I/O happens here or at import, so tests build apps freely and the
 * composition root (create-service.ts) decides when a model loads and when the port opens.
 *
 * JSON POST routes — POST /predict and every other protocol that posts a body — are served by
 * http/router.ts with typed handlers; Express serves the rest (probes, metrics, model metadata,
 * admin, 404 and 405). Both run the same preamble: security headers, request context, CORS.
 */
import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type Express } from 'express';
import type { Config } from './config.js';
import type { Lifecycle } from './lifecycle.js';
import type { ModelUpdater } from './model/model-updater.js';
import type { Predictor } from './model/predictor.js';
import type { Logger } from './observability/logger.js';
import type { Metrics, MetricsSource } from './observability/metrics.js';
import { TRACE_HEADER_ONLY, type RequestTracer } from './observability/tracing.js';
import { errorMiddleware, errorResponder, methodNotAllowed, notFound } from './http/error-middleware.js';
import { inFlightLimit } from './http/in-flight-limit.js';
import { readJsonBody } from './http/json-body.js';
import { contextOf, requestContext, type RequestContext } from './http/request-context.js';
import { createRouter, normalizePath, routeMatcher, type JsonRoute, type Prelude } from './http/router.js';
import { reloadHandler, requireBearer } from './http/routes/admin.js';
import { healthzHandler, readyzHandler } from './http/routes/health.js';
import { metricsHandler } from './http/routes/metrics.js';
import { modelHandler } from './http/routes/model.js';
import { predictHandler } from './http/routes/predict.js';
import { SECURITY_HEADER_LIST, setHeaderList } from './http/security-headers.js';

export type { Lifecycle } from './lifecycle.js';

/**
 * A protocol served beside POST /predict: its JSON POST routes (typed, fast path, in-flight limited)
 * and any other routes it mounts on the Express app. Each one is a thin adapter over the predictor.
 */
export interface FrontEnd {
  readonly jsonRoutes?: readonly JsonRoute[];
  /** Mounts GET routes and the like; called before the 404 handler. */
  mount?(app: Express): void;
}

export interface AppDeps {
  config: Pick<Config, 'BODY_LIMIT' | 'MAX_BATCH' | 'CORS_ORIGINS' | 'MAX_IN_FLIGHT'> & Partial<Pick<Config, 'ADMIN_TOKEN'>>;
  logger: Logger;
  metrics: Metrics;
  predictor: Predictor;
  lifecycle: Lifecycle;
  /** Epoch milliseconds, for trips without a pickup time; Date.now by default. */
  now?: () => number;
  /** Hot reload; POST /admin/reload exists only with it and config.ADMIN_TOKEN. */
  updater?: Pick<ModelUpdater, 'reload'>;
  /** What /metrics exposes; the metrics' own registry by default, all workers' aggregate in a cluster. */
  metricsSource?: MetricsSource;
  /** More protocols over the same predictor. */
  frontEnds?: readonly FrontEnd[];
  /** Trace ids (and spans, when exporting) per request; by default the caller's trace id only. */
  tracer?: RequestTracer;
}

/** The routes and the methods each answers (HEAD comes with GET). */
export const ROUTES = {
  predict: '/predict',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  model: '/model',
  adminReload: '/admin/reload',
} as const;

/**
 * CORS for the listed origins (docs/api.md, "CORS"). Browsers may read the headers a client needs
 * (the request id, when to retry, what is allowed, the timings) and the Resource Timing details.
 * A preflight is answered here, before routing, so it is labelled with the route it asks about.
 */
function corsPrelude(origins: readonly string[], match: (path: string) => { route: { path: string } } | undefined): Prelude {
  const anyOrigin = origins.includes('*');
  const handle = cors({
    origin: anyOrigin ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['Content-Type', 'X-Request-ID', 'traceparent', 'tracestate'],
    exposedHeaders: ['X-Request-ID', 'Retry-After', 'Allow', 'Server-Timing'],
    maxAge: 600,
  });
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && (anyOrigin || origins.includes(origin))) res.setHeader('Timing-Allow-Origin', anyOrigin ? '*' : origin);
    if (req.method === 'OPTIONS') {
      const ctx = contextOf(res);
      if (ctx !== undefined) ctx.route = match(normalizePath(req.url ?? '/'))?.route.path;
    }
    handle(req, res, next);
  };
}

/** A request listener for http.createServer or supertest. */
export function createApp(deps: AppDeps): RequestListener {
  const { config, logger, metrics, predictor, lifecycle, updater, metricsSource } = deps;
  const frontEnds = deps.frontEnds ?? [];
  const app = express();
  // why: a JSON API needs none of these, and each costs time on every request (docs/performance.md):
  // ETag hashes every body, the query parser builds an object per request, X-Powered-By leaks the stack.
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  const begin = requestContext(logger, metrics, deps.tracer ?? TRACE_HEADER_ONLY);
  // the headers every answer carries: the security headers and the request id, echoed
  const baseHeaders = (ctx: RequestContext): string[] => [...SECURITY_HEADER_LIST, 'X-Request-ID', ctx.requestId];
  const jsonRoutes: JsonRoute[] = [
    { path: ROUTES.predict, handler: predictHandler({ predictor, maxBatch: config.MAX_BATCH, now: deps.now ?? Date.now }) },
    ...frontEnds.flatMap((f) => f.jsonRoutes ?? []),
  ];
  const prelude =
    config.CORS_ORIGINS.length > 0
      ? corsPrelude(config.CORS_ORIGINS, routeMatcher([...jsonRoutes, ...Object.values(ROUTES).map((path) => ({ path }))]))
      : undefined;
  app.use((req, res, next) => {
    setHeaderList(res, baseHeaders(begin(req, res)));
    if (prelude === undefined) next();
    else prelude(req, res, next);
  });

  // why: the router answers only POST; other methods on these paths reach Express and get 405.
  for (const route of jsonRoutes) app.all(route.path, methodNotAllowed('POST'));
  app.get(ROUTES.healthz, healthzHandler());
  app.all(ROUTES.healthz, methodNotAllowed('GET, HEAD'));
  app.get(ROUTES.readyz, readyzHandler(predictor, lifecycle));
  app.all(ROUTES.readyz, methodNotAllowed('GET, HEAD'));
  app.get(ROUTES.metrics, metricsHandler(metricsSource ?? metrics.registry));
  app.all(ROUTES.metrics, methodNotAllowed('GET, HEAD'));
  app.get(ROUTES.model, modelHandler(predictor));
  app.all(ROUTES.model, methodNotAllowed('GET, HEAD'));
  if (config.ADMIN_TOKEN !== undefined && updater !== undefined) {
    app.post(ROUTES.adminReload, requireBearer(config.ADMIN_TOKEN), reloadHandler(updater));
    app.all(ROUTES.adminReload, methodNotAllowed('POST'));
  }
  for (const frontEnd of frontEnds) frontEnd.mount?.(app);

  const respondError = errorResponder(logger);
  app.use(notFound());
  app.use(errorMiddleware(respondError));
  return createRouter({
    routes: jsonRoutes,
    begin,
    baseHeaders,
    prelude,
    admit: inFlightLimit(config.MAX_IN_FLIGHT, metrics),
    readBody: readJsonBody(config.BODY_LIMIT),
    respondError,
    fallback: app,
  });
}
