import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { inFlightLimit } from '../../src/http/in-flight-limit.js';
import { createMetrics } from '../../src/observability/metrics.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
});

/** A server whose requests stay in flight until released; returns the shed response's detail. */
async function shedDetail(limit: number): Promise<string> {
  const admit = inFlightLimit(limit, createMetrics(undefined, { defaultMetrics: false }));
  const held: (() => void)[] = [];
  server = createServer((_req, res) => {
    if (admit(res)) held.push(() => res.end('ok'));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const get = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      request({ host: '127.0.0.1', port, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
        .on('error', reject)
        .end();
    });
  const admitted = Array.from({ length: limit }, get);
  while (held.length < limit) await new Promise((resolve) => setImmediate(resolve));
  const shed = await get();
  for (const release of held) release();
  await Promise.all(admitted);
  expect(shed.status).toBe(503);
  return JSON.parse(shed.body).detail;
}

describe('the in-flight limit', () => {
  test.each([
    [1, 'the limit of 1 request in progress is reached; retry in 1 s'],
    [3, 'the limit of 3 requests in progress is reached; retry in 1 s'],
  ])('When the limit is %i and one more arrives, then the 503 says so in plain words', async (limit, detail) => {
    expect(await shedDetail(limit)).toBe(detail);
  });
});
