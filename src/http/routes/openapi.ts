/**
 * GET /openapi.json (the document of http/openapi.ts, serialized once) and GET /docs, which renders
 * it with Swagger UI served from the swagger-ui-dist package in node_modules: no CDN, and the page's
 * CSP allows only this origin.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Express, Request, Response } from 'express';
import type { FrontEnd } from '../../app.js';
import { methodNotAllowed } from '../error-middleware.js';
import { openApiDocument } from '../openapi.js';
import { sendJson } from '../send-json.js';
import { publicFile, staticFile } from '../static-files.js';

export const OPENAPI_ROUTES = { document: '/openapi.json', docs: '/docs' } as const;

const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

export function openApiFrontEnd(): FrontEnd {
  let body: string | undefined;
  return {
    mount(app: Express) {
      const get = (path: string, handler: (req: Request, res: Response) => void | Promise<void>) => {
        app.get(path, handler);
        app.all(path, methodNotAllowed('GET, HEAD'));
      };
      get(OPENAPI_ROUTES.document, (_req, res) => {
        body ??= JSON.stringify(openApiDocument());
        res.setHeader('Cache-Control', 'no-cache');
        sendJson(res, 200, body);
      });
      get(OPENAPI_ROUTES.docs, staticFile(publicFile('docs', 'index.html')));
      get('/docs/docs.js', staticFile(publicFile('docs', 'docs.js')));
      get('/docs/docs.css', staticFile(publicFile('docs', 'docs.css')));
      get('/docs/swagger-ui.css', staticFile(join(SWAGGER_UI_DIR, 'swagger-ui.css')));
      get('/docs/swagger-ui-bundle.js', staticFile(join(SWAGGER_UI_DIR, 'swagger-ui-bundle.js')));
    },
  };
}
