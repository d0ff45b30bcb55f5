import { type EventEmitter, once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import {
  cachedIsoTime,
  createLogger,
  lineBuffer,
  logsWritten,
  type RequestLineFields,
  requestLineWriter,
} from '../../src/observability/logger.js';

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

  test("When request lines wait in the logger's buffer, then logsWritten resolves only once every one of them is in the file, in order", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    dirs.push(dir);
    const file = path.join(dir, 'out.log');
    // why: a flush period far longer than the test, so only logsWritten can have written the lines.
    const logger = createLogger({ level: 'info', dest: file, bufferBytes: 1 << 20, flushMs: 600_000 });
    const writeLine = requestLineWriter(logger);
    await logsWritten(logger);

    for (let i = 0; i < 500; i++) writeLine('info', { req_id: String(i), route: '/predict', status: 200, latency_ms: i });
    expect(readFileSync(file, 'utf8')).toBe('');
    await logsWritten(logger);

    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { req_id: string; time: string });
    expect(lines.map((l) => Number(l.req_id))).toEqual([...Array(500).keys()]);
    expect(Number.isNaN(Date.parse(lines[0].time))).toBe(false);
  });

  test('When a request line is alone in the buffer, then the flush period writes it out', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    dirs.push(dir);
    const file = path.join(dir, 'out.log');
    const logger = createLogger({ level: 'info', dest: file, bufferBytes: 4096, flushMs: 20 });
    await logsWritten(logger);

    requestLineWriter(logger)('info', { req_id: 'alone', route: '/predict', status: 200, latency_ms: 1 });
    await waitUntil(() => readFileSync(file, 'utf8') !== '');

    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ req_id: 'alone', msg: 'request' });
  });

  test('When request lines fill the buffer, then they are written without waiting for the flush period', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    dirs.push(dir);
    const file = path.join(dir, 'out.log');
    const logger = createLogger({ level: 'info', dest: file, bufferBytes: 4096, flushMs: 600_000 });
    const writeLine = requestLineWriter(logger);
    await logsWritten(logger);

    for (let i = 0; i < 100; i++) writeLine('info', { req_id: String(i), route: '/predict', status: 200, latency_ms: 1 });
    const stream = (logger as unknown as Record<symbol, { _writing: boolean } & EventEmitter>)[pino.symbols.streamSym];
    if (stream._writing) await once(stream, 'drain');
    const before = readFileSync(file, 'utf8');
    await logsWritten(logger);
    const after = readFileSync(file, 'utf8');

    // every full 4,096 bytes were written on their own; only the rest (under 4,096) waited for logsWritten
    expect(after.split('\n').filter(Boolean)).toHaveLength(100);
    expect(after.startsWith(before)).toBe(true);
    expect(before.length).toBeGreaterThan(after.length - 4096);
    expect(before.length).toBeLessThan(after.length);
  });

  test('When lines of different lengths are buffered, then no write is longer than the buffer, each ends a line, and none is lost', () => {
    const writes: string[] = [];
    const buffer = lineBuffer((text) => void writes.push(text), 100, 600_000);
    const lines = Array.from({ length: 40 }, (_, i) => `${'x'.repeat((i * 7) % 45)}${i}\n`);
    const long = `${'y'.repeat(150)}\n`;

    for (const line of lines.slice(0, 20)) buffer.add(line);
    buffer.add(long);
    for (const line of lines.slice(20)) buffer.add(line);
    buffer.drain();

    expect(writes.join('')).toBe([...lines.slice(0, 20), long, ...lines.slice(20)].join(''));
    for (const text of writes) {
      expect(text.endsWith('\n')).toBe(true);
      // a line longer than the buffer goes alone
      if (text !== long) expect(text.length).toBeLessThanOrEqual(100);
    }
    expect(writes).toContain(long);
    // and a full buffer is written without waiting for the flush period
    expect(writes.length).toBeGreaterThan(5);
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

    requestLineWriter(logger)('info', { req_id: 'first', route: '/predict', status: 200, latency_ms: 1 });
    requestLineWriter(logger)('info', { req_id: 'second', route: '/predict', status: 200, latency_ms: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(read()).toEqual([]);
    logger.warn('model reload failed');
    await waitUntil(() => read().length === 3);

    expect(read().map((l) => (l as { req_id?: string }).req_id ?? l.msg)).toEqual(['first', 'second', 'model reload failed']);
  });

  const LINES: RequestLineFields[] = [
    {
      req_id: 'a2ceabfc-4e40-4cbc-8446-4261f0a1bf15',
      method: 'POST',
      route: '/predict',
      status: 200,
      latency_ms: 0.842,
      model_version: 'taxi-ride-duration/4',
    },
    { req_id: 'r', route: 'unmatched', method: 'GET', path: '/x?"q"=\\\n\u0001\u2028é😀', status: 404, latency_ms: 12 },
    {
      req_id: 'x'.repeat(128),
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      method: 'POST',
      route: '/v2/models/:model/infer',
      status: 422,
      latency_ms: 1e-3,
      invalid_fields: ['trips[0].PULocationID', 'a"b'],
    },
    { req_id: 'r', route: '/predict', method: 'POST', status: 499, latency_ms: Number.NaN, aborted: true },
    { req_id: 'r', route: '/healthz', status: 200, latency_ms: 123456.789, invalid_fields: [] },
    // every string field with characters JSON escapes (the writer quotes plain ids as they are)
    {
      req_id: 'id "q" \\ \u0007 é',
      trace_id: 'trace\n',
      method: 'M"',
      route: '/r\\"',
      status: 200,
      latency_ms: Number.POSITIVE_INFINITY,
      model_version: 'v"1\u2028',
    },
  ];

  test.each(
    LINES.flatMap((fields, i) => [
      { i, level: 'info' as const, fields },
      { i, level: 'debug' as const, fields },
    ]),
  )(
    'When request line $i is written at $level, then its bytes are exactly the line pino writes for the same fields',
    ({ level, fields }) => {
      const lines: string[] = [];
      const logger = createLogger({
        level: 'debug',
        destination: { write: (l: string) => void lines.push(l) },
        now: () => 1_700_000_000_123,
      });

      requestLineWriter(logger)(level, fields);
      // the object request-context.ts used to hand pino, in its key order
      const { req_id, trace_id, method, route, path, status, latency_ms, model_version, invalid_fields, aborted } = fields;
      logger[level]({ req_id, trace_id, method, route, path, status, latency_ms, model_version, invalid_fields, aborted }, 'request');

      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(lines[1]);
      expect(JSON.parse(lines[0])).toMatchObject({ level: level === 'info' ? 30 : 20, msg: 'request', req_id: fields.req_id });
    },
  );

  test("When one writer's lines change method, route and model version from line to line, then each line is the one pino writes", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) }, now: () => 1_700_000_000_123 });
    const writeLine = requestLineWriter(logger);
    const sequence: RequestLineFields[] = [
      { req_id: 'a', method: 'POST', route: '/predict', status: 200, latency_ms: 1, model_version: '4' },
      { req_id: 'b', method: 'GET', route: '/healthz', status: 200, latency_ms: 1, model_version: '5' },
      { req_id: 'c', method: 'POST', route: '/predict', status: 200, latency_ms: 1, model_version: '4' },
      { req_id: 'd', method: 'POST', route: '/predict', status: 200, latency_ms: 1, model_version: '4' },
    ];
    const expected: string[] = [];
    for (const fields of sequence) {
      writeLine('info', fields);
      const { req_id, method, route, status, latency_ms, model_version } = fields;
      logger.info({ req_id, method, route, status, latency_ms, model_version }, 'request');
      expected.push(lines.pop()!);
    }

    expect(lines).toEqual(expected);
  });

  test('When the logger is a child with its own bindings (a cluster worker), then its request lines carry them, in the bytes pino writes', () => {
    const lines: string[] = [];
    const root = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) }, now: () => 1_700_000_000_123 });
    const child = root.child({ worker: 2, pid: 4321, note: 'a "quoted" \\ value' });
    const fields = { req_id: 'r', method: 'POST', route: '/predict', status: 200, latency_ms: 1.5, model_version: 'm/1' };

    requestLineWriter(child)('info', fields);
    child.info({ ...fields }, 'request');

    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(lines[1]);
    expect(JSON.parse(lines[0])).toMatchObject({ service: 'taxi-ride-duration', worker: 2, pid: 4321, req_id: 'r', msg: 'request' });
  });

  test("When a child's request lines wait in the root's buffer, then logsWritten on the child writes them out", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    dirs.push(dir);
    const file = path.join(dir, 'out.log');
    const child = createLogger({ level: 'info', dest: file, bufferBytes: 1 << 20, flushMs: 600_000 }).child({ worker: 1 });
    await logsWritten(child);

    requestLineWriter(child)('info', { req_id: 'buffered', route: '/predict', status: 200, latency_ms: 1 });
    expect(readFileSync(file, 'utf8')).toBe('');
    await logsWritten(child);

    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ worker: 1, req_id: 'buffered' });
  });

  test('When the logger is not one createLogger built, then request lines go through pino', () => {
    const lines: string[] = [];
    const plain = pino({ base: { other: true } }, { write: (l: string) => void lines.push(l) });

    requestLineWriter(plain)('info', { req_id: 'r', route: '/predict', status: 200, latency_ms: 1 });

    expect(JSON.parse(lines[0])).toMatchObject({ other: true, req_id: 'r', msg: 'request' });
  });
});

async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}
