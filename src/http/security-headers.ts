/**
 * Security headers on every response. A JSON API renders nothing, so the policy is "nothing may be
 * sniffed, framed, embedded, cached or referred": no helmet (not a dependency, and most of its headers
 * are about HTML pages, and each header it sets costs time on the hot path). A fixed, precomputed
 * list; the JSON routes send it with the reply in one writeHead (http/router.ts).
 *
 * Not sent: Strict-Transport-Security. The service speaks plain HTTP behind a TLS-terminating ingress
 * or load balancer; browsers ignore HSTS over HTTP, and the edge that owns the certificate and the
 * host name is the one that should send it.
 */
import type { ServerResponse } from 'node:http';

export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  // why: a browser must not guess HTML or script out of a JSON body.
  ['X-Content-Type-Options', 'nosniff'],
  // why: predictions, probes and metrics describe one moment; no shared cache may keep them.
  ['Cache-Control', 'no-store'],
  ['Referrer-Policy', 'no-referrer'],
  // why: frame-ancestors for current browsers, X-Frame-Options for old ones; default-src 'none'
  // neuters anything a browser might still render from a response.
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['X-Frame-Options', 'DENY'],
  // why: no-cors embedding by other sites is refused; CORS requests (CORS_ORIGINS) are not affected.
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

/** SECURITY_HEADERS as one flat name, value, name, value… list: what `writeHead` takes. */
export const SECURITY_HEADER_LIST: readonly string[] = SECURITY_HEADERS.flat();

/** Sets a flat name, value… list with setHeader (the paths that do not answer with one writeHead). */
export function setHeaderList(res: ServerResponse, list: readonly string[]): void {
  for (let i = 0; i < list.length; i += 2) res.setHeader(list[i], list[i + 1]);
}
