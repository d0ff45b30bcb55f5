/**
 * `npm run bench:stream` (docs/streaming.md, "Speed"): the stream consumer against a real redis-server,
 * the real one (model predictions) and a pass-through one (same reads, commits and writes, a constant
 * prediction) in the same run, interleaved. A benchmark, not a test: it asserts nothing.
 *
 * 1. Throughput: a backlog of BENCH_STREAM_ENTRIES (default 50,000) entries, one consumer drains it;
 *    entries/s = entries / time from start to "every entry acknowledged". ROUNDS (3) rounds, order alternating.
 * 2. Latency: an open-loop producer (another process) at BENCH_STREAM_RATE (2,000) entries/s for
 *    BENCH_STREAM_SECONDS (20) s; end-to-end latency per entry = its output's entry id time minus its
 *    input's entry id time (both Redis's clock).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { loadStreamConfig } from '../src/config.js';
import type { Trip } from '../src/features/trip-inputs.js';
import type { Predictions } from '../src/model/predictor.js';
import { createLogger } from '../src/observability/logger.js';
import { createStreamProcess } from '../src/stream/create-stream-process.js';
import { startRedis } from '../tests/support/redis.js';
import { percentile } from './lib/open-loop.js';

const ENTRIES = Number(process.env.BENCH_STREAM_ENTRIES ?? 50_000);
const RATE = Number(process.env.BENCH_STREAM_RATE ?? 2000);
const SECONDS = Number(process.env.BENCH_STREAM_SECONDS ?? 20);
const ROUNDS = 3;
const ROOT = path.resolve(import.meta.dirname, '..');

type Mode = 'real' | 'pass-through';

/** The baseline's predictor: every trip 15 minutes, no model run. */
const constant = {
  async predict(trips: readonly Trip[]): Promise<Predictions> {
    return {
      modelVersion: 'constant/0',
      rideIds: trips.map((t) => t.ride_id ?? 0),
      duration: new Float32Array(trips.length).fill(15),
      inferenceMs: 0,
    };
  },
};

function record(rideId: number): string {
  const ride = {
    PULocationID: 1 + (rideId % 265),
    DOLocationID: 1 + ((rideId * 7) % 265),
    trip_distance: (rideId % 300) / 10,
    pickup_datetime: '2021-03-01T08:30:00',
  };
  return JSON.stringify({ ride, ride_id: rideId });
}

async function startConsumer(url: string, mode: Mode, tag: string) {
  const config = loadStreamConfig({
    REDIS_URL: url,
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    MODEL_POLL_INTERVAL_S: '0',
    EVENTS_STREAM: `in_${tag}`,
    PREDICTIONS_STREAM_NAME: `out_${tag}`,
    DEAD_LETTER_STREAM: `dlq_${tag}`,
    CONSUMER_NAME: `bench-${tag}`,
  });
  const consumer = createStreamProcess(config, createLogger({ level: 'warn' }), {
    cwd: ROOT,
    predictor: mode === 'pass-through' ? constant : undefined,
  });
  return { config, consumer };
}

async function waitDrained(redis: Redis, stream: string, group: string, total: number): Promise<void> {
  for (;;) {
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    const info: Record<string, unknown> = {};
    for (const g of groups) {
      if (g[g.indexOf('name') + 1] !== group) continue;
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
    }
    if (Number(info['entries-read']) >= total && Number(info.pending) === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function throughput(redis: Redis, url: string, mode: Mode, tag: string): Promise<number> {
  const stream = `in_${tag}`;
  await redis.xgroup('CREATE', stream, 'ride-duration', '0', 'MKSTREAM');
  for (let i = 0; i < ENTRIES; i += 1000) {
    const pipeline = redis.pipeline();
    for (let k = i; k < Math.min(ENTRIES, i + 1000); k++) pipeline.xadd(stream, '*', 'data', record(k));
    await pipeline.exec();
  }
  const { consumer } = await startConsumer(url, mode, tag);
  // why: the model loads before the clock starts; start() then only connects and consumes.
  await consumer.runtime.start();
  const started = performance.now();
  await consumer.start();
  await waitDrained(redis, stream, 'ride-duration', ENTRIES);
  const seconds = (performance.now() - started) / 1000;
  await consumer.stop('bench');
  const outputs = await redis.xlen(`out_${tag}`);
  if (outputs !== ENTRIES) throw new Error(`${mode}: ${outputs} outputs for ${ENTRIES} entries`);
  await redis.flushall();
  return ENTRIES / seconds;
}

function idMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

async function latency(redis: Redis, url: string, mode: Mode, tag: string) {
  const { consumer } = await startConsumer(url, mode, tag);
  await consumer.start();
  await new Promise((r) => setTimeout(r, 500));
  const producer = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/lib/stream-producer.ts', url, `in_${tag}`, String(RATE), String(SECONDS), '0'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  producer.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => producer.on('exit', r));
  const { sent, seconds } = JSON.parse(out) as { sent: number; seconds: number };
  await waitDrained(redis, `in_${tag}`, 'ride-duration', sent);
  await consumer.stop('bench');
  const inputs = new Map<string, number>();
  for (const [id, fields] of (await redis.xrange(`in_${tag}`, '-', '+')) as [string, string[]][])
    inputs.set(String(JSON.parse(fields[1]).ride_id), idMs(id));
  const latencies: number[] = [];
  for (const [id, fields] of (await redis.xrange(`out_${tag}`, '-', '+')) as [string, string[]][])
    latencies.push(idMs(id) - inputs.get(fields[1])!);
  const sorted = Float64Array.from(latencies).sort();
  await redis.flushall();
  return {
    mode,
    offered_per_s: Math.round(sent / seconds),
    entries: sorted.length,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.at(-1),
  };
}

async function main(): Promise<void> {
  const server = await startRedis();
  const redis = server.client();
  const startedAt = new Date().toISOString();
  try {
    const rounds: { round: number; real: number; pass: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const order: Mode[] = round % 2 === 1 ? ['real', 'pass-through'] : ['pass-through', 'real'];
      const got: Partial<Record<Mode, number>> = {};
      for (const mode of order) got[mode] = await throughput(redis, server.url, mode, `${mode}-${round}`);
      rounds.push({ round, real: Math.round(got.real!), pass: Math.round(got['pass-through']!) });
      console.log(
        `round ${round}: real ${Math.round(got.real!)} entries/s, pass-through ${Math.round(got['pass-through']!)} entries/s, ratio ${(got.real! / got['pass-through']!).toFixed(2)}`,
      );
    }
    const lat = [await latency(redis, server.url, 'real', 'lat-real'), await latency(redis, server.url, 'pass-through', 'lat-pass')];
    for (const l of lat)
      console.log(
        `latency at ${l.offered_per_s}/s, ${l.mode}: p50 ${l.p50_ms} ms, p99 ${l.p99_ms} ms, max ${l.max_ms} ms (${l.entries} entries)`,
      );
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const summary = {
      started_at: startedAt,
      finished_at: new Date().toISOString(),
      machine: `${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
      entries: ENTRIES,
      batch: 500,
      rounds,
      median_real: median(rounds.map((r) => r.real)),
      median_pass: median(rounds.map((r) => r.pass)),
      ratio_of_medians: Number((median(rounds.map((r) => r.real)) / median(rounds.map((r) => r.pass))).toFixed(2)),
      latency: lat,
    };
    console.log(JSON.stringify(summary, null, 2));
    mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'bench/results/stream-latest.json'), `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await server.stop();
  }
}

await main();
