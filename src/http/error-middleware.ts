/**
 * The one place errors become responses. ServiceErrors carry a client-safe message; anything else is
 * a bug: it is logged with its stack and answered with a bare 500, no internals.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { ServiceError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { sendProblem, statusOf } from './problem.js';
import { contextOf } from './request-context.js';

/** Routes and the methods they answer, for 405 with an Allow header. */
export function methodNotAllowed(allow: string) {
  return (req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    if (req.method === 'OPTIONS') {
      res.statusCode = 204;
      res.end();
      return;
    }
    throw new ServiceError('method_not_allowed', `${req.method} is not allowed here; use ${allow}`);
  };
}

export function notFound() {
  return (): void => {
    throw new ServiceError(
      'not_found',
      'no such route; see GET /docs or docs/api.md (POST /predict, /v2/models/<name>/infer, /invocations; GET /zones, /model, /healthz, /readyz, /metrics)',
    );
  };
}

/** Answers `err` on `res`: problem+json, or a cut connection when the response has already started. */
export type ErrorResponder = (err: unknown, req: IncomingMessage, res: ServerResponse) => void;

export function errorResponder(logger: Logger): ErrorResponder {
  return (err, req, res) => {
    const ctx = contextOf(res);
    const reqId = ctx?.requestId;
    const traceId = ctx?.traceId;
    if (res.headersSent) {
      // why: a partial response cannot be turned into an error document; cut the connection instead.
      logger.error({ err, req_id: reqId, trace_id: traceId }, 'error after the response started');
      res.destroy();
      return;
    }
    if (err instanceof ServiceError) {
      const status = statusOf(err.code);
      if (status >= 500) {
        logger.error({ err, req_id: reqId, trace_id: traceId, code: err.code }, err.message);
        // why: 5xx messages may carry model or file details; clients get a fixed text.
        const detail =
          err.code === 'model_not_ready' || err.code === 'model_load_failed'
            ? 'no model is loaded yet; retry shortly'
            : err.code === 'reload_failed'
              ? err.message // why: only callers holding ADMIN_TOKEN reach it, and they need to know what was refused.
              : 'the prediction failed; the error is logged with this request id';
        if (status === 503) res.setHeader('Retry-After', '5');
        sendProblem(res, err.code, detail);
        return;
      }
      if (ctx !== undefined && err.errors !== undefined) ctx.invalidFields = err.errors.map((e) => e.field);
      sendProblem(res, err.code, err.message, err.errors);
      return;
    }
    logger.error({ err, req_id: reqId, trace_id: traceId, method: req.method, url: req.url }, 'unexpected error');
    sendProblem(res, 'internal', 'an unexpected error occurred; it is logged with this request id');
  };
}

/** The responder as Express's error middleware, for the routes Express serves. */
export function errorMiddleware(respond: ErrorResponder) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => respond(err, req, res);
}
