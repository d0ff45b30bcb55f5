import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../support/app.js';

/**
 * A runner in a child process (process.on and process.exit are the point): the shared signal handling of
 * src/server.ts and src/stream.ts, with a stop that resolves when told to on stdin, and a logger
 * buffering request lines as the service's does.
 */
function runner() {
  const script = `
    import { exitOnBugs, stopOnSignals } from './src/cli/startup.ts';
    import { createLogger, requestLineWriter } from './src/observability/logger.ts';
    const logger = createLogger({ level: 'info', bufferBytes: 16000, flushMs: 10000 });
    const exitOnBug = exitOnBugs(logger);
    let finish;
    const control = stopOnSignals(logger, exitOnBug, (signal) => {
      logger.info({ signal }, 'stopping');
      // 200 request lines held in the logger's buffer (10 s flush), then the stop's result
      const line = requestLineWriter(logger);
      for (let i = 0; i < 200; i++) line('info', { req_id: String(i), route: '/predict', status: 200, latency_ms: 1 });
      return new Promise((resolve) => (finish = resolve));
    });
    process.stdin.on('data', (d) => {
      const command = d.toString().trim();
      if (command === 'request') control.request('SIGTERM');
      else finish?.(command === 'clean');
    });
    // registered after stopOnSignals' own listener: logged once that one has handled the signal
    process.on('SIGTERM', () => logger.info('saw SIGTERM'));
    logger.info('ready');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const p of parts) lines.push(JSON.parse(p));
    for (const w of waiters.splice(0)) w();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitForLog = async (msg: string) => {
    while (!lines.some((l) => l.msg === msg)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { child, lines, exited, waitForLog };
}

describe('the runners’ signal handling', () => {
  test('When the stop ends cleanly, then the process exits 0 after every buffered line is written', async () => {
    const r = runner();
    await r.waitForLog('ready');
    r.child.kill('SIGTERM');
    await r.waitForLog('stopping');
    r.child.stdin.write('clean\n');

    expect(await r.exited).toBe(0);
    expect(r.lines.filter((l) => l.msg === 'request')).toHaveLength(200);
  }, 30_000);

  test('When the stop does not end cleanly, then the process exits 1', async () => {
    const r = runner();
    await r.waitForLog('ready');
    r.child.kill('SIGINT');
    await r.waitForLog('stopping');
    r.child.stdin.write('failed\n');

    expect(await r.exited).toBe(1);
  }, 30_000);

  test('When a stop was requested (a cluster primary asking) and the signal itself follows, then that signal is the first, not a second', async () => {
    const r = runner();
    await r.waitForLog('ready');
    r.child.stdin.write('request\n');
    await r.waitForLog('stopping');
    r.child.kill('SIGTERM');
    await r.waitForLog('saw SIGTERM');

    expect(r.lines.filter((l) => l.msg === 'second stop signal: exiting now')).toEqual([]);
    expect(r.lines.filter((l) => l.msg === 'stopping')).toHaveLength(1);
    r.child.stdin.write('clean\n');
    expect(await r.exited).toBe(0);
  }, 30_000);

  test('When a second signal arrives during the stop, then it exits at once with 128 + its number, saying so last', async () => {
    const r = runner();
    await r.waitForLog('ready');
    r.child.kill('SIGTERM');
    await r.waitForLog('stopping');
    r.child.kill('SIGINT');

    expect(await r.exited).toBe(130);
    expect(r.lines.at(-1)).toMatchObject({ level: 40, msg: 'second stop signal: exiting now', signal: 'SIGINT' });
    expect(r.lines.filter((l) => l.msg === 'request')).toHaveLength(200);
  }, 30_000);
});
