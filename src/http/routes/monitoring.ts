/**
 * POST /feedback and GET /monitoring: the HTTP adapter of model monitoring (src/monitoring/). Feedback
 * rides the same JSON route path as /predict (body limit, in-flight limit, CORS, problem+json, request
 * ids); GET /monitoring is an Express route.
 */
import type { FrontEnd } from '../../app.js';
import { parseFeedbackRequest } from '../../monitoring/feedback-schema.js';
import type { Monitor } from '../../monitoring/monitor.js';
import { methodNotAllowed } from '../error-middleware.js';

export const MONITORING_ROUTES = { feedback: '/feedback', monitoring: '/monitoring' } as const;

export function monitoringFrontEnd(monitor: Monitor, maxBatch: number): FrontEnd {
  return {
    jsonRoutes: [
      {
        path: MONITORING_ROUTES.feedback,
        handler: async (body) => {
          const counts = await monitor.feedback(parseFeedbackRequest(body, maxBatch));
          return { body: JSON.stringify(counts) };
        },
      },
    ],
    mount(app) {
      app.get(MONITORING_ROUTES.monitoring, async (_req, res) => {
        const report = await monitor.snapshot();
        res.type('application/json').send(JSON.stringify(report));
      });
      app.all(MONITORING_ROUTES.monitoring, methodNotAllowed('GET, HEAD'));
    },
  };
}
