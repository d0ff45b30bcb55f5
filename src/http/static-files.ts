/**
 * The few static files the service serves (the demo page, the API docs page and its renderer): read
 * once on first request and kept in memory, never from a path the request names. Pages get a
 * Content-Security-Policy that allows only this origin: no CDN, no inline script or style.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, Response } from 'express';

/** `public/` at the repository root; the same from src/http and dist/http. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
};

/** A GET handler answering the file at `path` (absolute), with the page CSP. */
export function staticFile(path: string) {
  const type = TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
  let content: Promise<Buffer> | undefined;
  return async (req: Request, res: Response): Promise<void> => {
    // why: a failed read is retried on the next request instead of being cached.
    content ??= readFile(path).catch((err: unknown) => {
      content = undefined;
      throw err;
    });
    const body = await content;
    res.statusCode = 200;
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', body.length);
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    // why: the files change only with a deploy; revalidating each time keeps a deploy visible at once.
    res.setHeader('Cache-Control', 'no-cache');
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

export const publicFile = (...parts: string[]) => join(PUBLIC_DIR, ...parts);
