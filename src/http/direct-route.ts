/**
 * One route served without Express's router: the same middleware functions, run in order by a few
 * lines instead of Express's layer stack, request/response prototype swap and per-request state.
 *
 * why: POST /predict is nearly all of the traffic, and on it Express's own dispatch cost more than
 * the model (issue 5). Only the exact path takes this way; anything Express would also match
 * (`/predict/`, `/PREDICT`, a query string) still goes through the Express app, to the same handlers.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';

export interface DirectRoute {
  readonly method: string;
  readonly path: string;
  /** Middleware and handler, in the order Express would run them for this route. */
  readonly handlers: readonly RequestHandler[];
  readonly onError: ErrorRequestHandler;
}

const ignoreNext: NextFunction = () => undefined;

/** Runs `handlers` like Express 5 does: next() moves on, next(err), a throw or a rejected promise goes to onError. */
function runDirect(route: DirectRoute, req: Request, res: Response): void {
  const { handlers, onError } = route;
  let index = 0;
  const fail = (err: unknown): void => {
    try {
      onError(err, req, res, ignoreNext);
    } catch {
      res.destroy();
    }
  };
  const next: NextFunction = (err?: unknown) => {
    if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
      fail(err);
      return;
    }
    const handler = handlers[index++];
    if (handler === undefined) return;
    try {
      const result = handler(req, res, next) as unknown;
      if (result instanceof Promise) result.catch(fail);
    } catch (error) {
      fail(error);
    }
  };
  next();
}

/**
 * A request listener that serves `route` directly and hands every other request to `fallback`.
 * What the handlers read from Express is provided: `res.locals`, `req.route.path`, `req.originalUrl`.
 */
export function withDirectRoute(route: DirectRoute, fallback: RequestListener): RequestListener {
  const routeInfo = { path: route.path };
  return (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    if (incoming.method !== route.method || incoming.url !== route.path) {
      fallback(incoming, outgoing);
      return;
    }
    const req = incoming as Request;
    const res = outgoing as Response;
    res.locals = Object.create(null) as Response['locals'];
    req.route = routeInfo;
    req.originalUrl = route.path;
    runDirect(route, req, res);
  };
}
