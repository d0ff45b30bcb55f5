import { readFileSync } from 'node:fs';
import { filterTrips } from '../src/training/trip-filter.js';
import { readTripParquet } from '../src/training/trip-parquet.js';
import { fitModel, predict } from '../src/training/trained-model.js';
import { PRESETS } from '../src/training/presets.js';
const load = async (m: string) => filterTrips(await readTripParquet(readFileSync(`../shared/data/green_tripdata_2021-${m}.parquet`), m)).table;
const [jan, feb, mar] = await Promise.all(['01','02','03'].map(load));
const model = fitModel(jan, 'time', PRESETS.serving, 42);
for (const [name, t] of [['jan', jan], ['feb', feb], ['mar', mar]] as const) {
  const p = predict(model, t); const wk = new Map<string, number[]>();
  let s = 0, sy = 0; for (let i = 0; i < t.rows; i++) { s += t.duration[i] - p[i]; sy += t.duration[i];
    const d = new Date(t.pickupMs[i]); const k = `${d.getUTCMonth()+1}/${Math.floor((d.getUTCDate()-1)/7)}`; const a = wk.get(k) ?? [0,0]; a[0]+= t.duration[i]-p[i]; a[1]++; wk.set(k,a); }
  console.log(name, 'mean y', (sy/t.rows).toFixed(2), 'mean resid', (s/t.rows).toFixed(3), [...wk].filter(([,a])=>a[1]>500).map(([k,a])=>`${k}:${(a[0]/a[1]).toFixed(2)}`).join(' '));
}
