/**
 * The zone table a model version ships as `zones.json` beside `model.onnx` (from version 4 on): every
 * TLC zone id the model knows, with its borough, name, service zone and centroid. Serving reads it to
 * name zones in answers and maps; training writes it (src/training/zone-table.ts). Zones 264 and 265
 * ("Unknown") have no shape, so no centroid: lon/lat are null.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';

/** The file's name inside a model version directory. */
export const ZONES_FILE = 'zones.json';

export const ZoneSchema = z.object({
  id: z.number().int().min(1),
  borough: z.string(),
  zone: z.string(),
  service_zone: z.string(),
  lon: z.number().min(-180).max(180).nullable(),
  lat: z.number().min(-90).max(90).nullable(),
});

export const ZoneTableSchema = z.array(ZoneSchema).refine((zones) => new Set(zones.map((z) => z.id)).size === zones.length, {
  message: 'zone ids must be unique',
});

export type Zone = z.infer<typeof ZoneSchema>;
export type ZoneTable = z.infer<typeof ZoneTableSchema>;

/** Parses a zone table; throws an Error naming the first bad entry and field. */
export function parseZoneTable(json: unknown, label = ZONES_FILE): ZoneTable {
  const result = ZoneTableSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${label}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return result.data;
}

/**
 * Reads `zones.json` from a model version directory. Resolves to undefined when the version has none
 * (versions 1–3); rejects when the file exists but is not a valid zone table.
 */
export async function loadZoneTable(modelDir: string): Promise<ZoneTable | undefined> {
  const path = join(modelDir, ZONES_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON (${(error as Error).message})`);
  }
  return parseZoneTable(json, path);
}
