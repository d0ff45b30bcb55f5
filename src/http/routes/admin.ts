/**
 * POST /admin/reload: checks the version MODEL_URI names now and hot-swaps it in (model-updater.ts).
 * Needs `Authorization: Bearer <ADMIN_TOKEN>`; without ADMIN_TOKEN the route is not mounted at all.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ServiceError } from '../../errors.js';
import type { ModelUpdater } from '../../model/model-updater.js';
import { contextOf } from '../request-context.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** 401 problem+json unless the request carries the bearer token; compared in constant time. */
export function requireBearer(token: string) {
  // why: timingSafeEqual needs equal lengths; comparing fixed-size digests hides the token's length too.
  const expected = digest(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (m && timingSafeEqual(digest(m[1]), expected)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="admin"');
    throw new ServiceError(
      'unauthorized',
      m ? 'the bearer token is not the admin token' : 'POST /admin/reload needs Authorization: Bearer <ADMIN_TOKEN>',
    );
  };
}

export function reloadHandler(updater: Pick<ModelUpdater, 'reload'>) {
  return async (_req: Request, res: Response): Promise<void> => {
    let outcome;
    try {
      outcome = await updater.reload('admin');
    } catch (err) {
      throw new ServiceError('reload_failed', `reload refused; the current model keeps serving: ${(err as Error).message}`, { cause: err });
    }
    const ctx = contextOf(res);
    if (ctx !== undefined) ctx.modelVersion = outcome.model_version;
    res.status(200).json(outcome);
  };
}
