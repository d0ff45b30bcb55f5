import { readFileSync } from 'node:fs';
import { allocateTable, filterTrips, type TripTable } from '../src/training/trip-filter.js';
import { readTripParquet } from '../src/training/trip-parquet.js';
import { fitModel, predict, unseenPairMask } from '../src/training/trained-model.js';
import { PRESETS } from '../src/training/presets.js';
import { fitIntervals, intervalBounds, intervalCoverage } from '../src/training/intervals.js';
const load = async (m: string) => filterTrips(await readTripParquet(readFileSync(`../shared/data/green_tripdata_2021-${m}.parquet`), m)).table;
const [jan, feb, mar] = await Promise.all(['01','02','03'].map(load));
function subset(t: TripTable, keep: (i: number) => boolean): TripTable {
  const idx: number[] = []; for (let i = 0; i < t.rows; i++) if (keep(i)) idx.push(i);
  const o = allocateTable(idx.length);
  idx.forEach((i, j) => { o.puLocationId[j]=t.puLocationId[i]; o.doLocationId[j]=t.doLocationId[i]; o.tripDistance[j]=t.tripDistance[i]; o.pickupHour[j]=t.pickupHour[i]; o.pickupDow[j]=t.pickupDow[i]; o.pickupMs[j]=t.pickupMs[i]; o.duration[j]=t.duration[i]; });
  return o;
}
const model = fitModel(jan, 'time', PRESETS.serving, 42);
const day = (ms: number) => new Date(ms).getUTCDate();
for (const cut of [15, 22, 25]) {
  const early = subset(jan, (i) => day(jan.pickupMs[i]) < cut && new Date(jan.pickupMs[i]).getUTCMonth() === 0);
  const late = subset(jan, (i) => day(jan.pickupMs[i]) >= cut && new Date(jan.pickupMs[i]).getUTCMonth() === 0);
  const aux = fitModel(early, 'time', PRESETS.serving, 42);
  const lp = predict(aux, late); const lu = unseenPairMask(aux, late);
  console.log('cut', cut, 'early', early.rows, 'late', late.rows, 'unseen', lu.reduce((a,b)=>a+b,0), 'trees', aux.gbdt.trees.length);
  for (const minRows of [500, 1000]) {
  const im = fitIntervals(lp, late.duration, lu, 'x', { minRowsPerBin: minRows, maxBins: 10 });
  console.log(' minRows', minRows, JSON.stringify({seen: im.seen.rows, unseen: im.unseen.rows}));
  for (const [name, t] of [['feb', feb], ['mar', mar]] as const) {
    const p = Float32Array.from(predict(model, t)); const u = unseenPairMask(model, t);
    const b = intervalBounds(im, p, u); const c = intervalCoverage(p, b.p10, b.p90, t.duration, u);
    const f = (s: any) => `${(100*s.below_p10).toFixed(1)}/${(100*s.above_p90).toFixed(1)} w${s.median_width_minutes.toFixed(1)}`;
    console.log('  ', name, 'all', f(c.overall), 'unseen', f(c.unseen_pairs), 'q', c.by_predicted_quintile.map(f).join(' | '));
  }}
}
