/**
 * Probes. /healthz is liveness: the process answers, whatever the model's state, so a slow model
 * load never gets the container killed. /readyz is readiness: a warmed model and not draining.
 */
import type { Request, Response } from 'express';
import type { Lifecycle } from '../../lifecycle.js';
import type { Predictor } from '../../model/predictor.js';
import { sendJson } from '../send-json.js';

function sendProbe(res: Response, status: number, body: string): void {
  res.setHeader('Cache-Control', 'no-store');
  sendJson(res, status, body);
}

const OK = '{"status":"ok"}';

export function healthzHandler() {
  return (_req: Request, res: Response): void => sendProbe(res, 200, OK);
}

export function readyzHandler(predictor: Pick<Predictor, 'model'>, lifecycle: Lifecycle) {
  return (_req: Request, res: Response): void => {
    if (lifecycle.draining) {
      res.setHeader('Retry-After', '5');
      sendProbe(res, 503, '{"status":"draining","reason":"the server is shutting down"}');
      return;
    }
    const model = predictor.model;
    if (model === undefined) {
      res.setHeader('Retry-After', '1');
      sendProbe(res, 503, JSON.stringify({ status: 'not_ready', reason: lifecycle.notReadyReason ?? 'no model is loaded yet' }));
      return;
    }
    sendProbe(res, 200, JSON.stringify({ status: 'ready', model_version: model.modelVersion }));
  };
}
