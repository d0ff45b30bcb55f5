/**
 * Memory and cost of the in-memory prediction log (docs/monitoring.md, "Memory of the prediction log"):
 * fills a log of `--rides` rides one per put (as single-trip requests log them), then reports the
 * process's RSS and V8 heap growth, the time of a full GC with the log full, and put / match cost a ride.
 * Run each store in its own process so RSS is its own:
 *
 *   node --max-semi-space-size=4 --expose-gc --import tsx bench/prediction-log-memory.ts [--rides 200000]
 *     [--ids generated|numeric] [--shadow] [--first-slots N (default 1024; = rides: no doubling)]
 *   git show 5987e0e:src/monitoring/prediction-log.ts > /tmp/old-log.ts  (the Map-based log)
 *   node --max-semi-space-size=4 --expose-gc --import tsx bench/prediction-log-memory.ts --module /tmp/old-log.ts
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { MemoryPredictionLog } from '../src/monitoring/prediction-log.js';

const { values } = parseArgs({
  options: {
    module: { type: 'string', default: resolve(import.meta.dirname, '../src/monitoring/prediction-log.ts') },
    rides: { type: 'string', default: '200000' },
    ids: { type: 'string', default: 'generated' },
    shadow: { type: 'boolean', default: false },
    'first-slots': { type: 'string' },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const rides = Number(values.rides);
const { MemoryPredictionLog: Log } = (await import(pathToFileURL(resolve(values.module)).href)) as {
  MemoryPredictionLog: typeof MemoryPredictionLog;
};

/** Ids as the service makes them (rideIdSequence: 8 hex chars, "-", base 36) or as integers. */
const rideId = (i: number): string | number => (values.ids === 'numeric' ? 1_000_000 + i : `5f3a9c01-${i.toString(36)}`);

const MB = 1024 * 1024;
const settle = () => {
  gc();
  gc();
  return process.memoryUsage();
};
const duration = new Float32Array(1);
const p10 = new Float32Array(1);
const p90 = new Float32Array(1);
const log1 = (log: MemoryPredictionLog, i: number) => {
  const ids = [rideId(i)];
  duration[0] = 5 + (i % 40);
  p10[0] = duration[0] * 0.7;
  p90[0] = duration[0] * 1.4;
  log.put({ rideIds: ids, modelVersion: 'taxi-ride-duration/4', duration, p10, p90 });
  if (values.shadow) log.put({ rideIds: ids, modelVersion: 'taxi-ride-duration/3', duration, p10, p90, arm: 'shadow' });
};
const nsPerRide = (start: bigint) => Number(process.hrtime.bigint() - start) / rides;

// The loop without the log (ids, arrays, batch objects), to subtract from the costs below.
let sink = 0;
let start = process.hrtime.bigint();
for (let i = 0; i < rides; i++) sink += [rideId(i)].length + (values.shadow ? [rideId(i)].length : 0);
const harnessNs = nsPerRide(start) + sink * 0;

const before = settle();
const firstSlots = values['first-slots'] === undefined ? undefined : Number(values['first-slots']);
const log = new Log({ maxRides: rides, ttlMs: 7_200_000, firstSlots });
start = process.hrtime.bigint();
for (let i = 0; i < rides; i++) log1(log, i);
const fillNs = nsPerRide(start);
const full = settle();

const gcMs: number[] = [];
for (let k = 0; k < 5; k++) {
  const t = process.hrtime.bigint();
  gc();
  gcMs.push(Number(process.hrtime.bigint() - t) / 1e6);
}

// A full log: each new ride evicts the oldest.
start = process.hrtime.bigint();
for (let i = rides; i < 2 * rides; i++) log1(log, i);
const putFullNs = nsPerRide(start);

start = process.hrtime.bigint();
let matched = 0;
for (let i = rides; i < 2 * rides; i++) if (log.matchNow([{ rideId: rideId(i), actual: 10 }])[0] !== 'unknown') matched++;
const matchNs = nsPerRide(start);
if (matched !== rides || log.size !== rides) throw new Error(`matched ${matched} of ${rides}, size ${log.size}`);

const mb = (x: number) => Math.round((x / MB) * 10) / 10;
console.log(
  JSON.stringify({
    module: values.module,
    rides,
    ids: values.ids,
    shadow: values.shadow,
    rss_mb: { before: mb(before.rss), full: mb(full.rss), growth: mb(full.rss - before.rss) },
    heap_total_mb: { before: mb(before.heapTotal), full: mb(full.heapTotal) },
    heap_used_mb: { before: mb(before.heapUsed), full: mb(full.heapUsed), growth: mb(full.heapUsed - before.heapUsed) },
    array_buffers_mb: mb(full.arrayBuffers - before.arrayBuffers),
    bytes_per_ride: Math.round((full.rss - before.rss) / rides),
    full_gc_ms: Math.round((gcMs.reduce((a, b) => a + b, 0) / gcMs.length) * 10) / 10,
    ns_per_ride: {
      harness: Math.round(harnessNs),
      fill: Math.round(fillNs),
      put_when_full: Math.round(putFullNs),
      match: Math.round(matchNs),
    },
  }),
);
