/** GET /metrics: Prometheus text exposition of this app's registry (or of all cluster workers). */
import type { Request, Response } from 'express';
import type { MetricsSource } from '../../observability/metrics.js';

export function metricsHandler(registry: MetricsSource) {
  return async (_req: Request, res: Response): Promise<void> => {
    const text = await registry.metrics();
    res.statusCode = 200;
    res.setHeader('Content-Type', registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(text);
  };
}
