/**
 * Chooses the prediction-interval recipe on January 2021 alone (docs/model.md, "Choosing the interval recipe"):
 * the last ten days of January play the "future month". For each protocol a model with the served preset and
 * seed is fitted on the earlier days, every candidate recipe calibrates on those same earlier days only, and
 * the coverage of its intervals is measured on January 22–31 overall, per side, per predicted-duration
 * quintile and among unseen pairs. February and March are not read.
 *
 * `--report <month.parquet>` (repeatable) adds, after the choice, every recipe trained on all of January and
 * measured on those months: a diagnosis of the protocol, not a way to choose (docs/model.md says what was read when).
 *
 *   npx tsx scripts/interval-selection.ts [--january ../shared/data/green_tripdata_2021-01.parquet] [--report <month.parquet>]...
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CALIBRATION_SCHEMES,
  calibrationResiduals,
  dayOfMonth,
  DEFAULT_INTERVAL_OPTIONS,
  fitIntervals,
  intervalBounds,
  intervalCoverage,
  type CalibrationScheme,
  type CoverageReport,
  type IntervalScale,
} from '../src/training/intervals.js';
import { errorMetrics } from '../src/training/error-metrics.js';
import { DEFAULT_PARAMS, type ModelParams } from '../src/training/presets.js';
import { fitModel, predict, unseenPairMask } from '../src/training/trained-model.js';
import { loadZoneGeometry } from '../src/training/zone-geometry.js';
import { filterTrips, selectTrips, type TripTable } from '../src/data/trip-filter.js';
import { readTripParquet } from '../src/data/trip-parquet.js';

const { values } = parseArgs({
  options: {
    january: { type: 'string', default: resolve(import.meta.dirname, '../../shared/data/green_tripdata_2021-01.parquet') },
    report: { type: 'string', multiple: true, default: [] },
  },
});
const SEED = 42;
const january = filterTrips(await readTripParquet(readFileSync(values.january), values.january)).table;
const day = dayOfMonth(january);
const geometry = loadZoneGeometry();

/** Each protocol: the days that stand for the training month, the gap recipe scaled to them, and the future days. */
const PROTOCOLS = [
  { name: 'A: train Jan 1–21, future Jan 22–31', trainDays: [1, 21], gap: { fitBeforeDay: 8, scoreFromDay: 15 } },
  { name: 'B: train Jan 1–14, future Jan 22–31 (a week later)', trainDays: [1, 14], gap: { fitBeforeDay: 5, scoreFromDay: 8 } },
] as const;
const FUTURE_DAYS = [22, 31];
const SCALES: IntervalScale[] = ['additive', 'multiplicative'];
const RECENCY_HALF_LIVES = [14, 7];
const LATER_SCHEMES: CalibrationScheme[] = [
  CALIBRATION_SCHEMES['forward-weeks'],
  CALIBRATION_SCHEMES['last-week'],
  CALIBRATION_SCHEMES['leave-week-out'],
];

const future = selectTrips(january, (i) => day[i] >= FUTURE_DAYS[0] && day[i] <= FUTURE_DAYS[1]);
for (const protocol of PROTOCOLS) {
  const [from, to] = protocol.trainDays;
  const train = selectTrips(january, (i) => day[i] >= from && day[i] <= to);
  compare(protocol.name, train, [{ kind: 'gap', ...protocol.gap }, ...LATER_SCHEMES], [{ label: 'Jan 22–31', trips: future }]);
}
// why: trees that weight late trips more could carry less of the drift into the future month; the same protocols decide.
for (const protocol of PROTOCOLS) {
  const [from, to] = protocol.trainDays;
  const train = selectTrips(january, (i) => day[i] >= from && day[i] <= to);
  for (const halfLife of RECENCY_HALF_LIVES) {
    const params = { ...DEFAULT_PARAMS, recencyHalfLifeDays: halfLife };
    const title = `${protocol.name}, trees weighted by recency (half-life ${halfLife} days)`;
    compare(title, train, [CALIBRATION_SCHEMES['forward-weeks']], [{ label: 'Jan 22–31', trips: future }], ['additive'], params);
  }
}
if (values.report.length > 0) {
  const months = [];
  for (const file of values.report)
    months.push({
      label: file.replace(/.*tripdata_/, '').replace('.parquet', ''),
      trips: filterTrips(await readTripParquet(readFileSync(file), file)).table,
    });
  compare(
    'after the choice: trained on all of January, reported on later months',
    january,
    [CALIBRATION_SCHEMES.gap, ...LATER_SCHEMES],
    months,
  );
}

/** Fits the served model on `train`, calibrates every scheme × scale on `train` alone, prints coverage on each later month. */
function compare(
  title: string,
  train: TripTable,
  schemes: CalibrationScheme[],
  later: { label: string; trips: TripTable }[],
  scales: IntervalScale[] = SCALES,
  params: ModelParams = DEFAULT_PARAMS,
): void {
  const served = fitModel(train, 'time', params, SEED, undefined, geometry);
  const scored = later.map(({ label, trips }) => {
    const pred = predict(served, trips);
    const unseen = unseenPairMask(served, trips);
    let bias = 0;
    for (let i = 0; i < trips.rows; i++) bias += trips.duration[i] - pred[i];
    return { label, trips, pred, unseen, bias: bias / trips.rows, rmse: errorMetrics(pred, trips.duration).rmse };
  });
  console.log(
    `\n## ${title}: ${train.rows} trips to train; ` +
      scored
        .map(
          (s) =>
            `${s.label}: ${s.trips.rows} trips, ${(mean(s.unseen) * 100).toFixed(1)} % unseen pairs, ${s.bias.toFixed(2)} min longer than predicted, RMSE ${s.rmse.toFixed(3)}`,
        )
        .join('; ') +
      '\n',
  );
  console.log('| month | scheme | scale | below / above p10–p90 | unseen pairs | quintiles 1–5 (below / above) | median width | misses |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const scheme of schemes) {
    const r = calibrationResiduals(train, 'time', params, SEED, geometry, scheme);
    for (const scale of scales) {
      const model = fitIntervals(r.pred, r.y, r.unseen, r.data, { ...DEFAULT_INTERVAL_OPTIONS, scale });
      for (const s of scored) {
        const { p10, p90 } = intervalBounds(model, s.pred, s.unseen);
        console.log(row(s.label, scheme, scale, intervalCoverage(s.pred, p10, p90, s.trips.duration, s.unseen)));
      }
    }
  }
}

function row(month: string, scheme: CalibrationScheme, scale: IntervalScale, c: CoverageReport): string {
  const pct = (x: number) => (x * 100).toFixed(1);
  let misses = 0;
  const mark = (x: number, tolerance: number) => {
    const miss = Math.abs(x - 0.1) > tolerance;
    if (miss) misses++;
    return `${pct(x)}${miss ? '✗' : ''}`;
  };
  const pair = (s: { below_p10: number; above_p90: number }, tolerance: number) =>
    `${mark(s.below_p10, tolerance)} / ${mark(s.above_p90, tolerance)}`;
  const name = scheme.kind === 'gap' ? `gap ${scheme.fitBeforeDay - 1}→${scheme.scoreFromDay}` : scheme.kind;
  return `| ${month} | ${name} | ${scale} | ${pair(c.overall, 0.015)} | ${pair(c.unseen_pairs, 0.03)} | ${c.by_predicted_quintile.map((q) => pair(q, 0.03)).join(', ')} | ${c.overall.median_width_minutes.toFixed(1)} | ${misses} |`;
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / Math.max(1, values.length);
}
