import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sendOnce, spawnServer, type LogLine } from '../support/service-process.js';
import { copyRegistry, embedded, NAME } from './support.js';

const RIDES = 20_000;

const post = (port: number, body: string, requestId: string) => sendOnce(port, 'POST', '/predict', body, { 'X-Request-ID': requestId });

describe('split traffic across WORKERS=2', () => {
  let registry: { root: string; modelDir: string };
  let child: ChildProcessWithoutNullStreams | undefined;
  beforeAll(async () => {
    registry = await copyRegistry({ '1': embedded('1'), '3': embedded('3') }, { production: '3', challenger: '1' });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(registry.root, { recursive: true, force: true });
  });

  test('When 20,000 rides are sent twice at CHALLENGER_PERCENT=20, then 20 ± 1.5 % are answered by the challenger, each ride by the same version both times, whichever worker served it', async () => {
    const server = spawnServer({
      WORKERS: '2',
      REGISTRY_URI: `file:${registry.root}`,
      MODEL_URI: `models:/${NAME}@production`,
      CHALLENGER_URI: `models:/${NAME}@challenger`,
      CHALLENGER_MODE: 'split',
      CHALLENGER_PERCENT: '20',
      SHUTDOWN_DRAIN_MS: '0',
    });
    child = server.child;
    const until = async (predicate: (lines: LogLine[]) => boolean) => {
      while (!predicate(server.logs)) {
        if (server.child.exitCode !== null) throw new Error(`exited ${server.child.exitCode}: ${server.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(
      (lines) =>
        lines.filter((l) => l.arm === 'challenger' && l.msg === 'model loaded and warmed up; ready').length === 2 &&
        lines.some((l) => l.msg === 'all workers ready'),
    );
    const port = server.logs.find((l) => l.msg === 'listening')!.port as number;

    const ids = Array.from({ length: RIDES }, (_, i) => `ride-${i}`);
    const rounds: Map<string, { version: string; request: string }>[] = [new Map(), new Map()];
    // round 1 in order, batches of 100; round 2 reversed, batches of 250: other batch-mates, other workers
    const plans = [ids, [...ids].reverse()].map((order, r) => ({ order, size: r === 0 ? 100 : 250 }));
    for (const [r, { order, size }] of plans.entries()) {
      for (let start = 0; start < order.length; start += size) {
        const batch = order.slice(start, start + size);
        const requestId = `round${r}-${start}`;
        const body = JSON.stringify({
          trips: batch.map((ride_id, k) => ({ PULocationID: 1 + ((start + k) % 265), DOLocationID: 75, trip_distance: 2.5, ride_id })),
        });
        const reply = await post(port, body, requestId);
        expect(reply.status).toBe(200);
        const parsed = JSON.parse(reply.text) as { model_version: string; predictions: { ride_id: string; model_version?: string }[] };
        for (const p of parsed.predictions)
          rounds[r].set(p.ride_id, { version: p.model_version ?? parsed.model_version, request: requestId });
      }
    }
    await until((lines) => lines.filter((l) => l.msg === 'request').length >= plans.reduce((n, p) => n + Math.ceil(RIDES / p.size), 0));
    const workerOf = new Map(server.logs.filter((l) => l.msg === 'request').map((l) => [l.req_id as string, l.worker as number]));
    server.child.kill('SIGTERM');
    await server.exited;

    const challenger = ids.filter((id) => rounds[0].get(id)!.version === `${NAME}/1`).length;
    expect(ids.filter((id) => rounds[0].get(id)!.version !== rounds[1].get(id)!.version)).toEqual([]);
    expect(new Set(ids.map((id) => rounds[0].get(id)!.version))).toEqual(new Set([`${NAME}/1`, `${NAME}/3`]));
    expect(Math.abs(challenger / RIDES - 0.2)).toBeLessThan(0.015);
    const movedWorker = ids.filter((id) => workerOf.get(rounds[0].get(id)!.request) !== workerOf.get(rounds[1].get(id)!.request)).length;
    expect(new Set(workerOf.values()).size).toBe(2);
    expect(movedWorker).toBeGreaterThan(RIDES / 10);
    console.info(
      `split: ${challenger} of ${RIDES} rides (${((100 * challenger) / RIDES).toFixed(2)} %) answered by the challenger; ${movedWorker} rides served by a different worker the second time, same version`,
    );
  });
});
