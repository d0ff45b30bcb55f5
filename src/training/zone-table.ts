import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseZoneTable, type ZoneTable } from '../features/zones.js';
import { TrainingError } from './errors.js';
import { MAX_ZONE_ID } from '../data/trip-filter.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ZONE_LOOKUP_PATH = path.resolve(REPO_ROOT, '../shared/data/taxi_zone_lookup.csv');

/**
 * Builds `zones.json` for every zone id the model knows (1–265) from the TLC lookup
 * (`"LocationID","Borough","Zone","service_zone"`, quoted, CRLF) and the centroid table (`LocationID,lon,lat`;
 * 264 and 265 have no shape, so null coordinates).
 */
export function buildZoneTable(lookupPath: string, centroidsPath: string): ZoneTable {
  const lookup = new Map<number, string[]>();
  for (const fields of csvRows(read(lookupPath, 'zone lookup')).slice(1)) {
    const id = Number(fields[0]);
    if (!Number.isInteger(id) || fields.length < 4) throw new TrainingError(`bad zone lookup line in ${lookupPath}: ${fields.join(',')}`);
    lookup.set(id, fields);
  }
  const centroids = new Map<number, [number, number]>();
  for (const [id, lon, lat] of csvRows(read(centroidsPath, 'zone centroids'))
    .slice(1)
    .map((f) => f.map(Number)))
    centroids.set(id, [lon, lat]);
  const zones = [];
  for (let id = 1; id <= MAX_ZONE_ID; id++) {
    const row = lookup.get(id);
    if (!row) throw new TrainingError(`zone lookup ${lookupPath} has no zone ${id}`);
    const centroid = centroids.get(id);
    zones.push({ id, borough: row[1], zone: row[2], service_zone: row[3], lon: centroid?.[0] ?? null, lat: centroid?.[1] ?? null });
  }
  return parseZoneTable(zones, lookupPath);
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new TrainingError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

/** Rows of a simple CSV: fields optionally double-quoted (no embedded newlines in these files). */
function csvRows(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) =>
      [...line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2])),
    );
}
