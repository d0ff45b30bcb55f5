/**
 * onnxruntime-node inference cost of two registered versions, measured in the same process and run
 * (interleaved rounds, so a busy machine slows both alike): one trip per run and 1,000 trips per run,
 * with the session options serving uses, fetching every output the graph has.
 *
 *   npx tsx bench/model-inference.ts [--a 3] [--b 4] [--rounds 5]
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { allocateInputColumns, TIME_INPUTS, type ModelInputColumns } from '../src/features/model-contract.js';
import { ortTelemetryOffByDefault } from '../src/model/ort-session.js';

const { values } = parseArgs({
  options: { a: { type: 'string', default: '3' }, b: { type: 'string', default: '4' }, rounds: { type: 'string', default: '5' } },
});
const root = resolve(import.meta.dirname, '../models/taxi-ride-duration');
const options: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
};

function trips(n: number): ModelInputColumns {
  const c = allocateInputColumns(n);
  for (let i = 0; i < n; i++) {
    c.PULocationID[i] = BigInt(1 + ((i * 37) % 265));
    c.DOLocationID[i] = BigInt(1 + ((i * 91) % 265));
    c.trip_distance[i] = 0.5 + ((i * 13) % 120) / 10;
    c.pickup_hour[i] = BigInt(i % 24);
    c.pickup_dow[i] = BigInt(i % 7);
  }
  return c;
}

function feeds(c: ModelInputColumns, n: number): Record<string, ort.Tensor> {
  return Object.fromEntries(TIME_INPUTS.map((s) => [s.name, new ort.Tensor(s.type, c[s.name as keyof ModelInputColumns], [n])]));
}

/** Microseconds per run: the median of `rounds` batches of `runs` runs. */
async function time(session: ort.InferenceSession, c: ModelInputColumns, n: number, runs: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let r = 0; r < runs; r++) await session.run(feeds(c, n));
  return Number(process.hrtime.bigint() - start) / 1e3 / runs;
}

ortTelemetryOffByDefault();
const sessions = await Promise.all(
  [values.a, values.b].map((v) => ort.InferenceSession.create(readFileSync(join(root, v, 'model.onnx')), options)),
);
const one = trips(1);
const thousand = trips(1000);
const rounds = Number(values.rounds);
const results: Record<string, { one: number[]; thousand: number[] }> = {
  [values.a]: { one: [], thousand: [] },
  [values.b]: { one: [], thousand: [] },
};
for (const [s, v] of [
  [sessions[0], values.a],
  [sessions[1], values.b],
] as const) {
  await time(s, one, 1, 2000);
  await time(s, thousand, 1000, 50);
  results[v].one.length = 0;
}
for (let r = 0; r < rounds; r++) {
  for (const [s, v] of [
    [sessions[0], values.a],
    [sessions[1], values.b],
  ] as const) {
    results[v].one.push(await time(s, one, 1, 5000));
    results[v].thousand.push(await time(s, thousand, 1000, 200));
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const row = (v: string) => ({
  version: v,
  outputs: sessions[v === values.a ? 0 : 1].outputNames.join(', '),
  one_trip_us: median(results[v].one),
  thousand_trips_us: median(results[v].thousand),
});
const [ra, rb] = [row(values.a), row(values.b)];
console.log(
  `${new Date().toISOString()}  node ${process.version}  load average ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log('| version | outputs | 1 trip, µs/run | 1,000 trips, µs/run |\n|---|---|---|---|');
for (const r of [ra, rb]) console.log(`| ${r.version} | ${r.outputs} | ${r.one_trip_us.toFixed(1)} | ${r.thousand_trips_us.toFixed(0)} |`);
console.log(
  `ratio ${values.b}/${values.a}: 1 trip ${(rb.one_trip_us / ra.one_trip_us).toFixed(2)}×, 1,000 trips ${(rb.thousand_trips_us / ra.thousand_trips_us).toFixed(2)}×`,
);
for (const s of sessions) await s.release();
