/**
 * GET /zones: the zone table of the served model version (its zones.json), so names and centroids
 * always match the model that answers. Cacheable: an ETag of the table and a short max-age; a
 * version without a table (1–3) answers 404.
 */
import { createHash } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import type { FrontEnd } from '../../app.js';
import { ServiceError, modelNotReady } from '../../errors.js';
import type { ModelInfo } from '../../model/onnx-model.js';
import type { Predictor } from '../../model/predictor.js';
import { methodNotAllowed } from '../error-middleware.js';
import { sendJson } from '../send-json.js';

export const ZONES_ROUTE = '/zones';

/** Zone names change only with a new model version; five minutes of staleness after a swap is harmless. */
export const ZONES_CACHE_CONTROL = 'public, max-age=300';

interface Serialized {
  readonly body: string;
  readonly etag: string;
}

/** Whether If-None-Match (a list, or *) names `etag`; weak and strong forms compare alike. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export function zonesHandler(predictor: Pick<Predictor, 'model'>) {
  // why: one serialization and hash per loaded model, not per request.
  const cache = new WeakMap<ModelInfo, Serialized>();
  return (req: Request, res: Response): void => {
    const model = predictor.model;
    if (model === undefined) throw modelNotReady();
    if (model.zones === undefined) {
      throw new ServiceError('not_found', `model ${model.modelVersion} has no zone table (zones.json); model versions from 4 on ship one`);
    }
    let entry = cache.get(model);
    if (entry === undefined) {
      const body = JSON.stringify(model.zones);
      entry = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
      cache.set(model, entry);
    }
    res.setHeader('ETag', entry.etag);
    res.setHeader('Cache-Control', ZONES_CACHE_CONTROL);
    res.setHeader('X-Model-Version', model.modelVersion);
    if (matches(req.headers['if-none-match'], entry.etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    sendJson(res, 200, entry.body);
  };
}

export function zonesFrontEnd(predictor: Pick<Predictor, 'model'>): FrontEnd {
  return {
    mount(app: Express) {
      app.get(ZONES_ROUTE, zonesHandler(predictor));
      app.all(ZONES_ROUTE, methodNotAllowed('GET, HEAD'));
    },
  };
}
