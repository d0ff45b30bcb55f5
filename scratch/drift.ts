import { readFileSync } from 'node:fs';
import { filterTrips, selectTrips } from '../src/training/trip-filter.js';
import { readTripParquet } from '../src/training/trip-parquet.js';
import { fitModel, predict } from '../src/training/trained-model.js';
import { PRESETS } from '../src/training/presets.js';
import { buildDriftReference } from '../src/training/drift-reference.js';
import { binCounts, judgeDrift } from '../src/monitoring/drift.js';
const load = async (m: string) => filterTrips(await readTripParquet(readFileSync(`../shared/data/green_tripdata_2021-${m}.parquet`), m)).table;
const [jan] = await Promise.all(['01'].map(load));
const model = fitModel(jan, 'time', PRESETS.serving, 42);
const pred = predict(model, jan);
let t = Date.now();
const ref = buildDriftReference(jan, pred, '2021-01', 42);
console.log('ref ms', Date.now() - t, ref.features.map(f => `${f.feature}: ${f.thresholds.score.map(s=>s.toFixed(3)).join(' ')}`).join('\n'));
const flags: Record<string, number> = {};
for (let d = 1; d <= 31; d++) {
  const idx = (i: number) => { const x = new Date(jan.pickupMs[i]); return x.getUTCMonth() === 0 && x.getUTCDate() === d; };
  const day = selectTrips(jan, idx); const p = predict(model, day);
  const cols: Record<string, ArrayLike<number>> = { PULocationID: day.puLocationId, DOLocationID: day.doLocationId, trip_distance: day.tripDistance, pickup_hour: day.pickupHour, pickup_dow: day.pickupDow, prediction: p };
  const counts = Object.fromEntries(ref.features.map(f => [f.feature, binCounts(f, cols[f.feature])]));
  const j = judgeDrift(ref, counts);
  console.log(d, day.rows, j.map(r => `${r.feature.slice(0,6)} ${r.score.toFixed(3)}/${r.threshold.toFixed(3)}${r.drifted?'*':''}`).join('  '));
  for (const r of j) if (r.drifted) flags[r.feature] = (flags[r.feature] ?? 0) + 1;
}
console.log(flags);
