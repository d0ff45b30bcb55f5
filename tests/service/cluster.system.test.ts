import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { productionVersion } from '../support/app.js';
import { sendOnce, spawnServer, type LogLine } from '../support/service-process.js';

type Line = LogLine;

const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function startCluster(env: Record<string, string>, options: { ownProcessGroup?: boolean } = {}) {
  const { child, logs, stderr, exited, onLine } = spawnServer({ SHUTDOWN_DRAIN_MS: '100', ...env }, 'src/server.ts', options);
  running.push(child);
  // why: checked on each log line as it arrives, not on a timer.
  const waitFor = (predicate: (lines: Line[]) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = () => predicate(logs) && resolve();
      onLine(check);
      void exited.then((code) => reject(new Error(`exited ${code}: ${stderr()}`)));
      check();
    });
  return { child, logs, exited, waitFor };
}

const send = (port: number, method: string, path: string, body?: string) => sendOnce(port, method, path, body);

const TRIP = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 });

describe('WORKERS=2', () => {
  test('When started, then two worker processes serve, /metrics counts all of them, and SIGTERM drains both and exits 0', async () => {
    const server = startCluster({ WORKERS: '2' });
    await server.waitFor((lines) => lines.some((l) => l.msg === 'all workers ready'));
    const port = server.logs.find((l) => l.msg === 'listening')!.port as number;

    const replies = [];
    for (let i = 0; i < 20; i++) replies.push(await send(port, 'POST', '/predict', TRIP));
    await server.waitFor((lines) => lines.filter((l) => l.msg === 'request').length === 20);
    const metrics = await send(port, 'GET', '/metrics');
    const ready = await send(port, 'GET', '/readyz');
    server.child.kill('SIGTERM');
    const code = await server.exited;

    expect(replies.every((r) => r.status === 200)).toBe(true);
    const servingPids = new Set(server.logs.filter((l) => l.msg === 'request').map((l) => l.pid));
    expect(servingPids.size).toBe(2);
    expect(metrics.text).toMatch(
      new RegExp(`^predictions_total\\{model_version="taxi-ride-duration/${productionVersion()}",outcome="success"\\} 20$`, 'm'),
    );
    expect(metrics.text).toMatch(
      new RegExp(`^model_info\\{name="taxi-ride-duration",version="${productionVersion()}",alias="production",stale="false"\\} 1$`, 'm'),
    );
    expect(ready.status).toBe(200);
    expect(code).toBe(0);
    expect(
      server.logs
        .filter((l) => l.msg === 'stopped')
        .map((l) => l.pid)
        .sort(),
    ).toEqual([...servingPids].sort());
  });

  test('When the whole process group gets SIGTERM (systemd, dumb-init), then each worker drains once, answers during the drain, and the cluster exits 0', async () => {
    const server = startCluster({ WORKERS: '2', SHUTDOWN_DRAIN_MS: '1500' }, { ownProcessGroup: true });
    await server.waitFor((lines) => lines.some((l) => l.msg === 'all workers ready'));
    const port = server.logs.find((l) => l.msg === 'listening')!.port as number;

    // every process of the group gets the signal, and the primary also asks each worker to stop
    process.kill(-server.child.pid!, 'SIGTERM');
    await server.waitFor((lines) => lines.filter((l) => l.msg === 'shutting down: readiness is 503, still serving').length === 2);
    const during = await send(port, 'POST', '/predict', TRIP);
    const code = await server.exited;

    expect(during.status).toBe(200);
    expect(server.logs.filter((l) => /second stop signal/.test(l.msg))).toEqual([]);
    expect(server.logs.filter((l) => l.msg === 'stopped')).toHaveLength(2);
    expect(code).toBe(0);
  });

  test('When a worker crashes after it was ready, then the primary starts a new one', async () => {
    const server = startCluster({ WORKERS: '2' });
    await server.waitFor((lines) => lines.some((l) => l.msg === 'all workers ready'));
    const victim = server.logs.find((l) => l.msg === 'listening')!.pid as number;

    process.kill(victim, 'SIGKILL');
    await server.waitFor((lines) => lines.filter((l) => l.msg === 'listening').length === 3);
    server.child.kill('SIGTERM');

    expect(server.logs.find((l) => l.msg === 'worker exited; restarting it')).toMatchObject({ worker_pid: victim, signal: 'SIGKILL' });
    expect(await server.exited).toBe(0);
  });

  test('When the model cannot be loaded, then the primary exits 1', async () => {
    const server = startCluster({ WORKERS: '2', MODEL_URI: 'models:/no-such-model/1' });

    expect(await server.exited).toBe(1);
    expect(server.logs.some((l) => l.msg === 'a worker exited before it was ready; stopping')).toBe(true);
  });
});
