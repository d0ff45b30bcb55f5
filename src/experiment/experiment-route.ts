/**
 * GET /experiment: the champion/challenger experiment as it stands, from the feedback matched so far
 * (docs/experiments.md, "GET /experiment"). Without a challenger: 200 {"mode":"off"}.
 */
import type { Express, Request, Response } from 'express';
import type { FrontEnd } from '../app.js';
import { methodNotAllowed } from '../http/error-middleware.js';
import type { Predictor } from '../model/predictor.js';
import type { OnlineStats } from './online-stats.js';

export const EXPERIMENT_ROUTE = '/experiment';

export function experimentFrontEnd({ predictor, stats }: { predictor: Pick<Predictor, 'challenger'>; stats: OnlineStats }): FrontEnd {
  return {
    mount(app: Express) {
      app.get(EXPERIMENT_ROUTE, (_req: Request, res: Response) => {
        const challenger = predictor.challenger;
        const report = stats.report();
        res.setHeader('Cache-Control', 'no-store');
        if (challenger === undefined || report === undefined) {
          res.json({ mode: 'off' });
          return;
        }
        res.json({
          ...report,
          ...(challenger.mode === 'split' ? { percent: challenger.percent } : {}),
          challenger_loaded: challenger.model !== undefined,
        });
      });
      app.all(EXPERIMENT_ROUTE, methodNotAllowed('GET, HEAD'));
    },
  };
}
