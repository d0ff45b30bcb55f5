import { parquetRead } from 'hyparquet';
import { asyncBufferFromFile } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ModelSlot } from './src/model/model-slot.js';
import { createPredictor } from './src/model/predictor.js';
import { createMetrics } from './src/observability/metrics.js';
import { loadModel } from './src/model/load-model.js';
import { createModelSource } from './src/registry/model-source.js';
import { parseModelUri } from './src/registry/model-uri.js';
import { wallClockHourAndDow } from './src/features/pickup-time.js';
const metrics = createMetrics(undefined, { defaultMetrics: false });
const slot = new ModelSlot();
const uri = parseModelUri('models:/taxi-ride-duration@production');
const m = await loadModel(createModelSource('file:models', { cwd: process.cwd() }), uri, metrics);
await slot.swap(m);
console.log(m.info.modelVersion, m.info.intervals);
const predictor = createPredictor({ slot, metrics });
const f = await asyncBufferFromFile('/work/shared/data/green_tripdata_2021-03.parquet');
let cols: Record<string, any[]> = {};
let t = performance.now();
await parquetRead({ file: f, compressors, columns: ['lpep_pickup_datetime','lpep_dropoff_datetime','PULocationID','DOLocationID','trip_distance'], parsers: { timestampFromMicroseconds: (x: bigint) => Number(x / 1000n) } as any, onChunk(c) { cols[c.columnName] = c.columnData as any[]; } });
console.log('decode ms', performance.now() - t);
const n = cols.PULocationID.length;
const cache = new Map();
t = performance.now();
const trips = new Array(n);
for (let i = 0; i < n; i++) {
  const d = new Date(cols.lpep_pickup_datetime[i]);
  trips[i] = { PULocationID: Number(cols.PULocationID[i]), DOLocationID: Number(cols.DOLocationID[i]), trip_distance: cols.trip_distance[i], pickup: wallClockHourAndDow(d), ride_id: i };
}
console.log('trips ms', performance.now() - t);
for (const chunk of [1024, 8192, 32768, 100000]) {
  for (let rep = 0; rep < 3; rep++) {
    t = performance.now();
    for (let s = 0; s < n; s += chunk) await predictor.predict(trips.slice(s, s + chunk), 0);
    const ms = performance.now() - t;
    console.log('chunk', chunk, 'rows/s', Math.round(n / ms * 1000));
  }
}
console.log('rss MB', process.memoryUsage().rss/1e6);
// overlap check
{
  const chunk = trips.slice(0, 65536);
  let spins = 0; let done = false;
  const t0 = performance.now();
  const p = predictor.predict(chunk, 0).then(() => { done = true; });
  // busy loop on main thread in slices, yielding to let promise resolve
  while (!done) { const s = performance.now(); while (performance.now() - s < 5) spins++; await new Promise((r) => setImmediate(r)); }
  console.log('predict while spinning ms', performance.now() - t0, 'spins', spins);
}
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
t = performance.now();
const w = new ParquetWriter({ writer: fileWriter('/tmp/probe-out.parquet'), schema: [
 { name: 'root', num_children: 8 },
 { name: 'ride_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
 { name: 'lpep_pickup_datetime', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' }, repetition_type: 'REQUIRED' },
 { name: 'PULocationID', type: 'INT32', repetition_type: 'REQUIRED' },
 { name: 'DOLocationID', type: 'INT32', repetition_type: 'REQUIRED' },
 { name: 'actual_duration', type: 'DOUBLE', repetition_type: 'REQUIRED' },
 { name: 'predicted_duration', type: 'DOUBLE', repetition_type: 'REQUIRED' },
 { name: 'diff', type: 'DOUBLE', repetition_type: 'REQUIRED' },
 { name: 'model_version', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
] as any });
const out = await predictor.predict(trips, 0);
const ids = new Array(n); for (let i = 0; i < n; i++) ids[i] = `2021/03_${i}`;
const mv = new Array(n).fill('taxi-ride-duration/4');
const ts = new BigInt64Array(n); for (let i=0;i<n;i++) ts[i]=BigInt(cols.lpep_pickup_datetime[i])*1000n;
const pu = Int32Array.from(trips, (t:any)=>t.PULocationID);
const dur = Float64Array.from(cols.lpep_dropoff_datetime, (d:number, i)=> (d-cols.lpep_pickup_datetime[i])/60000);
const pred = Float64Array.from(out.duration);
const t1 = performance.now();
w.write({ columnData: [
 { name: 'ride_id', data: ids }, { name: 'lpep_pickup_datetime', data: ts }, { name: 'PULocationID', data: pu }, { name: 'DOLocationID', data: pu },
 { name: 'actual_duration', data: dur }, { name: 'predicted_duration', data: pred }, { name: 'diff', data: pred }, { name: 'model_version', data: mv } ] as any, rowGroupSize: n });
w.finish();
console.log('write ms', performance.now() - t1, 'total incl prep', performance.now()-t);
console.log('rss MB', process.memoryUsage().rss/1e6);
