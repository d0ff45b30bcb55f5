import { ParquetWriter, fileWriter, ByteWriter } from 'hyparquet-writer';
const n = 84000;
const ids = new Array(n); for (let i = 0; i < n; i++) ids[i] = `2021/03_${i}`;
const mv = new Array(n).fill('taxi-ride-duration/4');
const ts = new BigInt64Array(n); for (let i=0;i<n;i++) ts[i]=BigInt(1614557142000+i*1000)*1000n;
const pu = Int32Array.from({length:n}, (_, i)=>i%265+1);
const dur = Float64Array.from({length:n}, (_, i)=> Math.random()*60);
const cols: Record<string, any> = { ride_id: [ids, { name: 'ride_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' }],
 ts: [ts, { name: 'ts', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' }, repetition_type: 'REQUIRED' }],
 pu: [pu, { name: 'pu', type: 'INT32', repetition_type: 'REQUIRED' }],
 dur: [dur, { name: 'dur', type: 'DOUBLE', repetition_type: 'REQUIRED' }],
 f32: [Float32Array.from(dur), { name: 'f32', type: 'FLOAT', repetition_type: 'REQUIRED' }],
 mv: [mv, { name: 'mv', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' }] };
for (const opts of [{}, { statistics: false }, { encoding: 'PLAIN' }, { encoding: 'PLAIN', statistics: false }, {codec: 'UNCOMPRESSED', statistics:false}]) {
  for (const [name, [data, schema]] of Object.entries(cols)) {
    let best = 1e9;
    for (let r = 0; r < 3; r++) {
      const w = new ParquetWriter({ writer: new ByteWriter(), schema: [{ name: 'root', num_children: 1 }, schema] as any });
      const t = performance.now();
      try { w.write({ columnData: [{ name, data, ...opts }] as any, rowGroupSize: n }); w.finish(); } catch (e) { console.log(name, JSON.stringify(opts), 'ERR', (e as Error).message); break; }
      best = Math.min(best, performance.now() - t);
    }
    console.log(name.padEnd(8), JSON.stringify(opts).padEnd(40), (best/n*1000).toFixed(2), 'us/row');
  }
}
