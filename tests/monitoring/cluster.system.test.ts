import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { afterAll, describe, expect, test } from 'vitest';
import { spawnServer, type LogLine } from '../support/service-process.js';
import { sample } from './support.js';

const running: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** One request on its own connection: the cluster primary hands connections to workers in turn. */
function send(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent: false, headers: text ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        let out = '';
        res.on('data', (c: Buffer) => (out += c.toString()));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(out);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, json, text: out });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

describe('WORKERS=2, in-memory prediction log in the primary', () => {
  test('When feedback reaches another worker than its prediction, then it matches; the drift window and accuracy merge both workers', async () => {
    const { child, logs, stderr } = spawnServer({
      WORKERS: '2',
      MODEL_URI: 'models:/taxi-ride-duration/4',
      SHUTDOWN_DRAIN_MS: '0',
      MODEL_POLL_INTERVAL_S: '0',
    });
    running.push(child);
    while (!logs.some((l: LogLine) => l.msg === 'all workers ready')) {
      if (child.exitCode !== null) throw new Error(`exited: ${stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const port = logs.find((l) => l.msg === 'listening')!.port as number;

    const n = 12;
    for (let i = 0; i < n; i++) {
      const r = await send(port, 'POST', '/predict', { PULocationID: 74, DOLocationID: 75 + i, trip_distance: 1 + i / 10, ride_id: i });
      expect(r.status).toBe(200);
    }
    // Right after the answers: the predictions may still be in a worker's buffer; the barrier finds them.
    const matched = [];
    for (let i = 0; i < n; i++) matched.push((await send(port, 'POST', '/feedback', { ride_id: i, actual_duration: 8 })).json);
    expect(matched).toEqual(Array.from({ length: n }, () => ({ matched: 1, unknown: 0, duplicate: 0 })));
    const twice = await Promise.all([0, 1, 2, 3].map(() => send(port, 'POST', '/feedback', { ride_id: 'c-1', actual_duration: 8 })));
    expect(twice.every((r) => r.json.unknown === 1)).toBe(true);
    await send(port, 'POST', '/predict', { PULocationID: 74, DOLocationID: 75, trip_distance: 1, ride_id: 'c-1' });
    const concurrent = await Promise.all([0, 1, 2, 3].map(() => send(port, 'POST', '/feedback', { ride_id: 'c-1', actual_duration: 8 })));
    expect(concurrent.reduce((s, r) => s + r.json.matched, 0)).toBe(1);
    expect(concurrent.reduce((s, r) => s + r.json.duplicate, 0)).toBe(3);

    // why wait: request lines are buffered for up to LOG_FLUSH_MS (docs/configuration.md); all 20 arrive.
    const feedbackLines = () => logs.filter((l) => l.msg === 'request' && l.route === '/feedback');
    while (feedbackLines().length < n + 8) await new Promise((r) => setTimeout(r, 20));
    const feedbackPids = new Set(feedbackLines().map((l) => l.pid));
    expect(feedbackPids.size).toBe(2);
    const report = (await send(port, 'GET', '/monitoring')).json;
    expect(report.drift.trips).toBe(n + 1);
    expect(report.accuracy).toEqual([expect.objectContaining({ model_version: 'taxi-ride-duration/4', n: n + 1 })]);
    expect(report.prediction_log).toMatchObject({ store: 'memory', rides: n + 1 });
    const metrics = (await send(port, 'GET', '/metrics')).text;
    expect(sample(metrics, 'prediction_feedback_total', { model_version: 'taxi-ride-duration/4', outcome: 'matched' })).toBe(n + 1);
    expect(sample(metrics, 'model_drift_window_trips')).toBe(n + 1);
    child.kill('SIGTERM');
  });
});
