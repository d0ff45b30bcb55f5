/**
 * What a shadow challenger costs (docs/experiments.md, "Measured"): the service with WORKERS=1, champion
 * version 3, with and without a shadow challenger (version 1), in the same run, interleaved
 * (off, shadow, shadow, off, …) so that the shared machine's load falls on both alike. Per round: a
 * closed loop (16 connections) for throughput, then an open loop at a fixed moderate rate for p99.
 * A benchmark, not a test: it prints rows and medians and asserts nothing.
 *
 *   npm run build && npx tsx bench/experiment-cost.ts   (BENCH_DURATION_S, BENCH_ROUNDS, BENCH_RATE)
 */
import { percentile, runOpenLoop } from './lib/open-loop.js';
import { serviceTarget, startTarget, stopTarget, waitUntilReady } from './lib/targets.js';
import { runClosedLoop } from './lib/wrk.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const PORT = 19_697;
const body = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 4.2 });
const models = { MODEL_URI: 'models:/taxi-ride-duration/3', LOG_LEVEL: 'warn' };
const variants = {
  off: serviceTarget(1, { soak: false, variant: { label: 'no challenger', env: models } }),
  shadow: serviceTarget(1, {
    soak: false,
    variant: { label: 'shadow challenger', env: { ...models, CHALLENGER_URI: 'models:/taxi-ride-duration/1', CHALLENGER_MODE: 'shadow' } },
  }),
};
type Variant = keyof typeof variants;
const results: Record<Variant, { rps: number; p99: number; p50: number; errors: number }[]> = { off: [], shadow: [] };

async function round(variant: Variant): Promise<void> {
  const target = variants[variant];
  const child = startTarget(target, PORT);
  try {
    await waitUntilReady(target, child, PORT, performance.now(), body);
    if (variant === 'shadow') {
      for (;;) {
        const e = (await (await fetch(`http://127.0.0.1:${PORT}/experiment`)).json()) as { challenger_loaded?: boolean };
        if (e.challenger_loaded) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await runClosedLoop({ port: PORT, path: '/predict', body, connections: 16, durationS: 2 }); // warm-up
    const closed = await runClosedLoop({ port: PORT, path: '/predict', body, connections: 16, durationS: DURATION_S });
    const open = await runOpenLoop({ port: PORT, path: '/predict', body, rate: RATE, durationS: DURATION_S });
    const row = {
      rps: closed.requestsPerSecond,
      p99: percentile(open.latenciesMs, 99),
      p50: percentile(open.latenciesMs, 50),
      errors: closed.errors + open.errors,
    };
    if (variant === 'shadow') {
      const metrics = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
      const shadowed = /challenger_predictions_total\{mode="shadow",model_version="taxi-ride-duration\/1",outcome="success"\} (\d+)/.exec(
        metrics,
      )?.[1];
      const skipped = /outcome="skipped"\} (\d+)/.exec(metrics)?.[1] ?? '0';
      console.log(`   shadow runs: ${shadowed} trips predicted by the challenger, ${skipped} skipped at the in-flight cap`);
    }
    results[variant].push(row);
    console.log(
      `${variant.padEnd(6)} closed 16 conn ${row.rps.toFixed(0).padStart(6)} req/s | open ${RATE} req/s p50 ${row.p50.toFixed(2)} ms p99 ${row.p99.toFixed(2)} ms | errors ${row.errors}`,
    );
  } finally {
    await stopTarget(child);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`experiment cost bench ${new Date().toISOString()}: ${ROUNDS} rounds, ${DURATION_S} s per step, open loop ${RATE} req/s`);
for (let r = 0; r < ROUNDS; r++) {
  for (const v of (r % 2 === 0 ? ['off', 'shadow'] : ['shadow', 'off']) as Variant[]) await round(v);
}
const off = { rps: median(results.off.map((x) => x.rps)), p99: median(results.off.map((x) => x.p99)) };
const shadow = { rps: median(results.shadow.map((x) => x.rps)), p99: median(results.shadow.map((x) => x.p99)) };
console.log(
  JSON.stringify(
    {
      medians: { off, shadow },
      p99_ratio: shadow.p99 / off.p99,
      throughput_drop: 1 - shadow.rps / off.rps,
    },
    null,
    2,
  ),
);
