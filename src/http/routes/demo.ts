/**
 * GET /: a small demo page for people (and frontend developers) trying the service: zone names from
 * /zones, the distance pre-filled from the zone centroids, the prediction from POST /predict, and the
 * curl line for the same trip. Static files from public/demo; off with DEMO_PAGE=false.
 */
import type { Express } from 'express';
import type { FrontEnd } from '../../app.js';
import { methodNotAllowed } from '../error-middleware.js';
import { publicFile, staticFile } from '../static-files.js';

export const DEMO_FILES = { '/': 'index.html', '/demo.js': 'demo.js', '/demo.css': 'demo.css' } as const;

export function demoFrontEnd(): FrontEnd {
  return {
    mount(app: Express) {
      for (const [path, file] of Object.entries(DEMO_FILES)) {
        app.get(path, staticFile(publicFile('demo', file)));
        app.all(path, methodNotAllowed('GET, HEAD'));
      }
    },
  };
}
