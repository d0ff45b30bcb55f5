/**
 * Batch scoring at full size (docs/batch.md, "Measured"): a 3-million-row yellow-layout month built by
 * repeating March 2021, then
 *   1. memory: `node dist/score.js` on it as its own process (the image's command), peak RSS from summary.json;
 *   2. speed, in one process with one model session, interleaved: end-to-end scoring (read, filter, predict,
 *      write, drift) and the model alone on the same rows already in memory (the predictor over prebuilt
 *      trips), round after round, so both see the same machine load.
 * Usage: npm run bench:score [-- --rows 3000000 --row-group 131072 --rounds 2]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { silentProgress } from '../src/cli/progress.js';
import { loadConfig } from '../src/config.js';
import { PREDICT_CHUNK_ROWS, scoreFile, tripsOf } from '../src/batch/score-file.js';
import { createInlineIo } from '../src/batch/scoring-io.js';
import { createWorkerIo } from '../src/batch/worker-io.js';
import { resolveInput } from '../src/batch/input-file.js';
import { createModelRuntime } from '../src/model/model-runtime.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { writeRepeatedMonth } from '../tests/support/repeated-month.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '3000000' },
    'row-group': { type: 'string', default: '131072' },
    rounds: { type: 'string', default: '2' },
  },
});
const rows = Number(values.rows);
const rowGroup = Number(values['row-group']);
const rounds = Number(values.rounds);

const cache = join(tmpdir(), 'taxi-score-bench');
mkdirSync(cache, { recursive: true });
const file = join(cache, `yellow_tripdata_2021-03_${rows}_${rowGroup}.parquet`);
if (!existsSync(file)) {
  console.error(`building ${file} (March 2021 repeated) …`);
  await writeRepeatedMonth({
    source: join(ROOT, '../shared/data/green_tripdata_2021-03.parquet'),
    target: `${file}.partial`,
    rows,
    rowGroupRows: rowGroup,
  });
  const { renameSync } = await import('node:fs');
  renameSync(`${file}.partial`, file);
}
const work = mkdtempSync(join(tmpdir(), 'taxi-score-bench-run-'));
const started = new Date();
const load = () => loadavg().map((v) => Number(v.toFixed(2)));

// 1. memory: the real command in its own process.
console.error('memory: node dist/score.js …');
const out = join(work, 'cli');
await promisify(execFile)(process.execPath, ['dist/score.js', '--data', file, '--output', out], {
  cwd: ROOT,
  env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' },
});
const cli = JSON.parse(readFileSync(join(out, 'taxi_type=yellow/year=2021/month=03/summary.json'), 'utf8'));

// 2. speed, interleaved in this process with one session.
const config = loadConfig({ LOG_LEVEL: 'silent' });
const runtime = createModelRuntime(config, createLogger({ level: 'silent' }), {
  metrics: createMetrics(undefined, { defaultMetrics: false }),
  cwd: ROOT,
  lifecycle: { draining: false },
  pollIntervalMs: 0,
});
await runtime.updater.reload('refresh');
const model = runtime.predictor.model!;
const input = await resolveInput(file);
const results: { round: number; end_to_end_rows_per_s: number; model_only_rows_per_s: number; ratio: number; load: number[] }[] = [];
for (let round = 1; round <= rounds; round++) {
  const io = createWorkerIo();
  const t0 = performance.now();
  const scored = await scoreFile(input, {
    predictor: runtime.predictor,
    model,
    modelUri: config.MODEL_URI.text,
    io,
    progress: silentProgress(),
    outputRoot: join(work, `round-${round}`),
    threads: 2,
  });
  const e2eSeconds = (performance.now() - t0) / 1000;
  await io.close();
  rmSync(join(work, `round-${round}`), { recursive: true, force: true });

  // The same rows, read and turned into trips untimed; only the predictor calls are timed.
  const inline = createInlineIo();
  const info = await inline.open(file, file);
  let modelSeconds = 0;
  let modelRows = 0;
  for (let g = 0; g < info.rowGroups; g++) {
    const kept = await inline.read(g);
    const chunks = [];
    for (let from = 0; from < kept.rows; from += PREDICT_CHUNK_ROWS)
      chunks.push(tripsOf(kept, from, Math.min(kept.rows, from + PREDICT_CHUNK_ROWS)));
    const t = performance.now();
    for (const trips of chunks) await runtime.predictor.predict(trips, 0);
    modelSeconds += (performance.now() - t) / 1000;
    modelRows += kept.rows;
  }
  await inline.close();
  const e2e = scored.summary.rows.kept / e2eSeconds;
  const modelOnly = modelRows / modelSeconds;
  results.push({
    round,
    end_to_end_rows_per_s: Math.round(e2e),
    model_only_rows_per_s: Math.round(modelOnly),
    ratio: Number((e2e / modelOnly).toFixed(2)),
    load: load(),
  });
  console.error(
    `round ${round}: end-to-end ${Math.round(e2e)} scored rows/s, model only ${Math.round(modelOnly)} rows/s, ratio ${(e2e / modelOnly).toFixed(2)}, load ${load().join(' ')}`,
  );
}
await runtime.slot.close();
rmSync(work, { recursive: true, force: true });

const report = {
  date: started.toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, load_at_start: load() },
  file: { rows, row_group_rows: rowGroup, bytes: input.bytes, rows_scored: cli.rows.kept },
  command: { peak_rss_mb: cli.performance.peak_rss_mb, rows_per_second: cli.performance.rows_per_second, seconds: cli.performance.seconds },
  rounds: results,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/score-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
