import type { ServerResponse } from 'node:http';

/**
 * Ends `res` with a JSON text: the status, its Content-Type and Content-Length. Other headers are the
 * caller's, set before. For HEAD, node sends the headers alone (the length still that of the body).
 */
export function sendJson(res: ServerResponse, status: number, text: string, contentType = 'application/json; charset=utf-8'): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
