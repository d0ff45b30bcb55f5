/**
 * node:http server options: how long clients may take. Kept out of server.ts so tests build a server
 * with exactly the production settings.
 */
import type { ServerOptions } from 'node:http';
import type { Config } from '../config.js';

/**
 * - keepAliveTimeout 65 s: load balancers keep idle connections for 60 s (AWS ALB, GCP); a shorter
 *   server timeout races them and turns into sporadic 502s.
 * - headersTimeout (HEADERS_TIMEOUT_MS, 10 s): since Node 18 it runs from a request's first byte, not
 *   over idle keep-alive time, so it can be far below keepAliveTimeout without that race
 *   (tests/reliability/slow-clients.system.test.ts checks both). It cuts off slowloris clients.
 * - requestTimeout (REQUEST_TIMEOUT_MS, 30 s): the whole request, body included (slow bodies).
 * - connectionsCheckingInterval: how often node looks for connections past those timeouts; the 30 s
 *   default would let a slow client hold its socket up to 30 s longer than the timeout.
 */
export function serverOptions(config: Pick<Config, 'HEADERS_TIMEOUT_MS' | 'REQUEST_TIMEOUT_MS'>): ServerOptions {
  const shortest =
    config.REQUEST_TIMEOUT_MS > 0 ? Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS) : config.HEADERS_TIMEOUT_MS;
  return {
    keepAliveTimeout: 65_000,
    headersTimeout: config.HEADERS_TIMEOUT_MS,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(shortest / 4))),
  };
}
