import { readFileSync } from 'node:fs';
import { filterTrips } from '../src/training/trip-filter.js';
import { readTripParquet } from '../src/training/trip-parquet.js';
import { fitModel, predict, unseenPairMask } from '../src/training/trained-model.js';
import { PRESETS } from '../src/training/presets.js';
import { predictGbdt } from '../src/training/gbdt.js';
import { fitIntervals, intervalBounds, intervalCoverage } from '../src/training/intervals.js';
const load = async (m: string) => filterTrips(await readTripParquet(readFileSync(`../shared/data/green_tripdata_2021-${m}.parquet`), m)).table;
const [jan, feb, mar] = await Promise.all(['01','02','03'].map(load));
const model = fitModel(jan, 'time', PRESETS.serving, 42);
const hx = model.heldOut.x; const ci = model.featurizer.featureNames.indexOf('pair_trip_count');
const hp = predictGbdt(model.gbdt, hx);
const hu = Uint8Array.from(hx.columns[ci], (c) => (c === 0 ? 1 : 0));
console.log('heldout rows', hx.rows, 'unseen', hu.reduce((a,b)=>a+b,0));
for (const minRows of [400, 700, 1000]) {
  const im = fitIntervals(hp, model.heldOut.y, hu, 'x', { minRowsPerBin: minRows, maxBins: 10 });
  console.log('minRows', minRows, JSON.stringify({seen: im.seen.rows, unseen: im.unseen.rows, ue: im.unseen.edges, ul: im.unseen.lower, uu: im.unseen.upper}));
  for (const [name, t] of [['feb', feb], ['mar', mar]] as const) {
    const p = Float32Array.from(predict(model, t)); const u = unseenPairMask(model, t);
    const b = intervalBounds(im, p, u); const c = intervalCoverage(p, b.p10, b.p90, t.duration, u);
    const f = (s: any) => `${(100*s.below_p10).toFixed(1)}/${(100*s.above_p90).toFixed(1)} w${s.median_width_minutes.toFixed(1)}`;
    console.log(' ', name, 'all', f(c.overall), 'unseen', f(c.unseen_pairs), 'q', c.by_predicted_quintile.map(f).join(' | '));
  }
}
