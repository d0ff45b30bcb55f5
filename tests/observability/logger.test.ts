import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { cachedIsoTime, createLogger, logsWritten } from '../../src/observability/logger.js';

describe('the logger', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  test('When the clock moves by a millisecond, then the time field moves with it; within one, it is the same ISO text', () => {
    let now = Date.UTC(2021, 1, 3, 4, 5, 6, 7);
    const time = cachedIsoTime(() => now);

    const first = time();
    const again = time();
    now += 1;

    expect(first).toBe(',"time":"2021-02-03T04:05:06.007Z"');
    expect(again).toBe(first);
    expect(time()).toBe(',"time":"2021-02-03T04:05:06.008Z"');
  });

  test('When lines wait in a buffered destination, then logsWritten resolves only once every one of them is in the file, in order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    dirs.push(dir);
    const file = path.join(dir, 'out.log');
    // why: a flush period far longer than the test, so only logsWritten can have written the lines.
    const destination = pino.destination({ dest: file, sync: false, minLength: 4096, periodicFlush: 600_000 });
    await new Promise((resolve) => destination.once('ready', resolve));
    const logger = pino({ timestamp: cachedIsoTime() }, destination);

    for (let i = 0; i < 5; i++) logger.info({ i }, 'line');
    expect(readFileSync(file, 'utf8')).toBe('');
    await logsWritten(logger);

    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { i: number; time: string });
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2, 3, 4]);
    expect(Number.isNaN(Date.parse(lines[0].time))).toBe(false);
    destination.end();
  });

  test('When the logger buffers, then request lines wait for the buffer while every other line is written at once, after them, in order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    dirs.push(dir);
    const file = path.join(dir, 'out.log');
    const logger = createLogger({ level: 'info', dest: file, bufferBytes: 4096, flushMs: 600_000 });
    const read = () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; n?: number });
    await logsWritten(logger);

    logger.info({ n: 1 }, 'request');
    logger.info({ n: 2 }, 'request');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(read()).toEqual([]);
    logger.warn('model reload failed');
    await waitUntil(() => read().length === 3);

    expect(read().map((l) => l.n ?? l.msg)).toEqual([1, 2, 'model reload failed']);
  });
});

async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}
