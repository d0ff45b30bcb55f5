import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { openLoop, parseResponse } from '../../bench/lib/open-loop-client.js';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
});

async function serve(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const body = '{"PULocationID":10}';

describe('open-loop client', () => {
  test('When a response arrives in pieces, then it is complete only with its whole body; Connection: close is seen', () => {
    const full = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\nConnection: close\r\n\r\nhello');

    expect(parseResponse(full.subarray(0, 20))).toBeUndefined();
    expect(parseResponse(full.subarray(0, full.length - 1))).toBeUndefined();
    expect(parseResponse(Buffer.concat([full, Buffer.from('HTTP/1.1')]))).toEqual({ length: full.length, status: 200, close: true });
    expect(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'))).toThrow(/Content-Length/);
  });

  test('When the server stalls, then requests due during the stall count the stall (no coordinated omission)', async () => {
    let first = true;
    const port = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        // why: the first answer waits 200 ms; with one socket every request due meanwhile waits behind it.
        const delay = first ? 200 : 0;
        first = false;
        setTimeout(() => res.end('{}'), delay);
      });
    });

    const r = await openLoop({ port, path: '/predict', body, rate: 100, durationS: 0.5, connections: 1 });

    expect(r.completed).toBe(50);
    expect(r.errors).toBe(0);
    // Requests due at 0, 10, …, 140 ms cannot be answered before 200 ms: at least 15 latencies ≥ 50 ms.
    // A client timing from its own write would show one slow request.
    expect(r.latenciesMs.filter((ms) => ms >= 50).length).toBeGreaterThanOrEqual(15);
    expect(r.waitedForSocket).toBeGreaterThanOrEqual(14);
  });

  test('When the server closes every connection (gunicorn sync workers) or answers 500, then sockets are replaced and failures counted', async () => {
    let n = 0;
    const port = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = n++ % 2 === 0 ? 200 : 500;
        res.setHeader('Connection', 'close');
        res.end('{}');
      });
    });

    const r = await openLoop({ port, path: '/predict', body, rate: 200, durationS: 0.2, connections: 2 });

    expect(r.completed).toBe(40);
    expect(r.errors).toBe(20);
    expect(r.reconnects).toBeGreaterThanOrEqual(38);
  });
});
