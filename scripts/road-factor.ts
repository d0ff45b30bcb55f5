/**
 * The demo page's road factor: road miles per straight-line mile between the pickup and drop-off
 * zone centroids, the median over one month of green taxi trips between different zones whose
 * centroids are at least 0.3 miles apart. Run: npx tsx scripts/road-factor.ts [parquet] [centroids]
 * (defaults: ../shared/data/green_tripdata_2021-01.parquet and ../shared/data/taxi_zone_centroids.csv).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

const data = resolve(import.meta.dirname, '../../shared/data');
const tripsPath = process.argv[2] ?? resolve(data, 'green_tripdata_2021-01.parquet');
const centroidsPath = process.argv[3] ?? resolve(data, 'taxi_zone_centroids.csv');
for (const path of [tripsPath, centroidsPath]) if (!existsSync(path)) throw new Error(`${path} is missing (the shared data directory)`);

type LonLat = [number, number];
const centroids = new Map<number, LonLat>();
for (const line of readFileSync(centroidsPath, 'utf8').split('\n').slice(1)) {
  const [id, lon, lat] = line.split(',').map(Number);
  if (Number.isFinite(lat)) centroids.set(id, [lon, lat]);
}
/** The same formula as public/demo/demo.js. */
function haversineMiles(a: LonLat, b: LonLat): number {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b[1] - a[1]) * rad) / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(((b[0] - a[0]) * rad) / 2) ** 2;
  return 2 * 3958.8 * Math.asin(Math.sqrt(h));
}

const rows = (await parquetReadObjects({
  file: await asyncBufferFromFile(tripsPath),
  columns: ['PULocationID', 'DOLocationID', 'trip_distance'],
  compressors,
})) as {
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
}[];
const ratios: number[] = [];
for (const r of rows) {
  const a = centroids.get(Number(r.PULocationID));
  const b = centroids.get(Number(r.DOLocationID));
  if (!a || !b || r.PULocationID === r.DOLocationID || !(r.trip_distance > 0) || r.trip_distance > 100) continue;
  const straight = haversineMiles(a, b);
  if (straight >= 0.3) ratios.push(r.trip_distance / straight);
}
ratios.sort((x, y) => x - y);
const q = (p: number) => ratios[Math.floor(p * (ratios.length - 1))].toFixed(3);
console.log(`${ratios.length} trips: road/straight-line miles p25 ${q(0.25)}, median ${q(0.5)}, p75 ${q(0.75)}`);
