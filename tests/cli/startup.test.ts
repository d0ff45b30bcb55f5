import { describe, expect, test } from 'vitest';
import { spawnServer } from '../support/service-process.js';

/** tests/support/signal-runner.ts in its own process, its JSON log lines collected. */
function runner() {
  const r = spawnServer({}, 'tests/support/signal-runner.ts');
  const waitForLog = (msg: string) => r.waitForLine((l) => l.msg === msg, msg);
  return { child: r.child, lines: r.logs, exited: r.exited, waitForLog };
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
