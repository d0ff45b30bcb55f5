import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainingError } from './errors.js';

/**
 * Where each taxi zone is: its centroid in miles east and north of a point in Manhattan, from the
 * TLC zone shapefile (`taxi_zone_centroids.csv`, read from ../shared/data by default, `--zones` to
 * point elsewhere; it is data, so it is not copied into the repo). The graph holds
 * these as two LabelEncoder tables and computes the straight-line distance between pickup and
 * dropoff zones, which gives pairs never seen in training a better back-off than the prior mean.
 */
export interface ZoneGeometry {
  readonly ids: number[];
  readonly x: number[];
  readonly y: number[];
  readonly sha256: string;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CENTROIDS_PATH = path.resolve(REPO_ROOT, '../shared/data/taxi_zone_centroids.csv');

/** Projection origin and scale: an equirectangular map is exact enough across 30 miles of city. */
const ORIGIN = { lon: -73.95, lat: 40.7 };
const MILES_PER_DEG_LAT = 69.05;
const MILES_PER_DEG_LON = MILES_PER_DEG_LAT * Math.cos((ORIGIN.lat * Math.PI) / 180);

export function loadZoneGeometry(path = CENTROIDS_PATH): ZoneGeometry {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TrainingError(`cannot read zone centroids ${path}: ${(error as Error).message}`);
  }
  const ids: number[] = [];
  const x: number[] = [];
  const y: number[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    if (line.trim() === '') continue;
    const [id, lon, lat] = line.split(',').map(Number);
    if (!Number.isInteger(id) || !Number.isFinite(lon) || !Number.isFinite(lat))
      throw new TrainingError(`bad zone centroid line in ${path}: ${line}`);
    ids.push(id);
    x.push(Math.fround((lon - ORIGIN.lon) * MILES_PER_DEG_LON));
    y.push(Math.fround((lat - ORIGIN.lat) * MILES_PER_DEG_LAT));
  }
  return { ids, x, y, sha256: createHash('sha256').update(text).digest('hex') };
}
