/** GET /model: what is being served, for humans and deployment checks. */
import type { Request, Response } from 'express';
import { modelNotReady } from '../../errors.js';
import type { Predictor } from '../../model/predictor.js';

export function modelHandler(predictor: Pick<Predictor, 'model'>) {
  return (_req: Request, res: Response): void => {
    const info = predictor.model;
    if (info === undefined) throw modelNotReady();
    const training = info.training;
    res.json({
      name: info.name,
      version: info.version,
      alias: info.alias ?? null,
      model_version: info.modelVersion,
      feature_set: info.featureSet,
      signature: { inputs: info.inputs, outputs: info.outputs },
      metrics: (training?.metrics as unknown) ?? null,
      trained_at: (training?.created_at as unknown) ?? null,
      loaded_at: info.loadedAt.toISOString(),
      stale: info.stale === true,
      // why: a stale model is the newest cached version that loaded before; this says why it serves (docs/registries.md).
      stale_reason: info.stale ? (info.staleReason ?? null) : null,
    });
  };
}
