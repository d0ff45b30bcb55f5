/**
 * The app: wiring only. No I/O happens here or at import, so tests build apps freely and
 * server.ts decides when a model loads and when the port opens.
 *
 * An Express app serves every route; POST /predict, nearly all of the traffic, is also served by the
 * same handlers outside Express's router (http/direct-route.ts, issue 5).
 */
import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import type { MetricsSource } from './cluster.js';
import type { Config } from './config.js';
import type { ModelSlot } from './model/model-slot.js';
import type { ModelUpdater } from './model/model-updater.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { withDirectRoute } from './http/direct-route.js';
import { errorMiddleware, methodNotAllowed, notFound } from './http/error-middleware.js';
import { inFlightLimit } from './http/in-flight-limit.js';
import { readJsonBody } from './http/json-body.js';
import { requestContext } from './http/request-context.js';
import { reloadHandler, requireBearer } from './http/routes/admin.js';
import { securityHeaders } from './http/security-headers.js';
import { healthzHandler, readyzHandler, type Lifecycle } from './http/routes/health.js';
import { metricsHandler } from './http/routes/metrics.js';
import { modelHandler } from './http/routes/model.js';
import { predictHandler } from './http/routes/predict.js';

export type { Lifecycle } from './http/routes/health.js';

export interface AppDeps {
  config: Pick<Config, 'BODY_LIMIT' | 'MAX_BATCH' | 'CORS_ORIGINS' | 'MAX_IN_FLIGHT'> & Partial<Pick<Config, 'ADMIN_TOKEN'>>;
  logger: Logger;
  metrics: Metrics;
  slot: ModelSlot;
  lifecycle: Lifecycle;
  /** Hot reload (issue 4); POST /admin/reload exists only with it and config.ADMIN_TOKEN. */
  updater?: Pick<ModelUpdater, 'reload'>;
  /** What /metrics exposes; the metrics' own registry by default, all workers' aggregate in a cluster. */
  metricsSource?: MetricsSource;
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

/** A request listener for http.createServer or supertest. */
export function createApp({ config, logger, metrics, slot, lifecycle, updater, metricsSource }: AppDeps): RequestListener {
  const app = express();
  // why: a JSON API needs none of these, and each costs time on every request (issue 5):
  // ETag hashes every body, the query parser builds an object per request, X-Powered-By leaks the stack.
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  // why: one list of the middleware every route runs, shared with the direct /predict route.
  const common: RequestHandler[] = [securityHeaders(), requestContext(logger, metrics)];
  if (config.CORS_ORIGINS.length > 0) {
    common.push(
      cors({
        origin: config.CORS_ORIGINS.includes('*') ? '*' : config.CORS_ORIGINS,
        methods: ['GET', 'HEAD', 'POST'],
        allowedHeaders: ['Content-Type', 'X-Request-ID'],
        exposedHeaders: ['X-Request-ID'],
        maxAge: 600,
      }),
    );
  }
  app.use(common);

  const predict: RequestHandler[] = [
    inFlightLimit(config.MAX_IN_FLIGHT, metrics),
    readJsonBody(config.BODY_LIMIT),
    predictHandler({ slot, metrics, maxBatch: config.MAX_BATCH }),
  ];
  app.post(ROUTES.predict, predict);
  app.all(ROUTES.predict, methodNotAllowed('POST'));
  app.get(ROUTES.healthz, healthzHandler());
  app.all(ROUTES.healthz, methodNotAllowed('GET, HEAD'));
  app.get(ROUTES.readyz, readyzHandler(slot, lifecycle));
  app.all(ROUTES.readyz, methodNotAllowed('GET, HEAD'));
  app.get(ROUTES.metrics, metricsHandler(metricsSource ?? metrics.registry));
  app.all(ROUTES.metrics, methodNotAllowed('GET, HEAD'));
  app.get(ROUTES.model, modelHandler(slot));
  app.all(ROUTES.model, methodNotAllowed('GET, HEAD'));
  if (config.ADMIN_TOKEN !== undefined && updater !== undefined) {
    app.post(ROUTES.adminReload, requireBearer(config.ADMIN_TOKEN), reloadHandler(updater));
    app.all(ROUTES.adminReload, methodNotAllowed('POST'));
  }

  const onError = errorMiddleware(logger);
  app.use(notFound());
  app.use(onError);
  return withDirectRoute({ method: 'POST', path: ROUTES.predict, handlers: [...common, ...predict], onError }, app);
}
