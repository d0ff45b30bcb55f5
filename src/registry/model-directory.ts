/**
 * What a model directory says about the model, read from MLmodel (src/mlflow/mlmodel.ts), training.json
 * and zones.json (src/features/zones.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import { loadZoneTable, type ZoneTable } from '../features/zones.js';
import { isRegistryError } from '../mlflow/errors.js';
import { readMlmodel } from '../mlflow/mlmodel.js';

export interface ModelDirectory {
  /** Absolute path of the ONNX file (MLmodel flavors.onnx.data). */
  readonly onnxFile: string;
  /** training.json as written by the training pipeline, or undefined when the directory has none. */
  readonly training: Record<string, unknown> | undefined;
  /** zones.json (versions 4 on), or undefined when the directory has none. */
  readonly zones?: ZoneTable;
}

/** Reads MLmodel, training.json and zones.json (when present) from an MLflow Model directory; throws ModelLoadError('artifact'). */
export async function readModelDirectory(dir: string): Promise<ModelDirectory> {
  let onnxFile: string;
  try {
    ({ onnxFile } = await readMlmodel(dir));
  } catch (err) {
    if (isRegistryError(err)) throw new ModelLoadError('artifact', err.message, { cause: err });
    throw err;
  }
  let training: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, 'training.json'), 'utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) training = parsed as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ModelLoadError('artifact', `cannot read ${join(dir, 'training.json')}: ${(err as Error).message}`, { cause: err });
    }
  }
  let zones: ZoneTable | undefined;
  try {
    zones = await loadZoneTable(dir);
  } catch (err) {
    throw new ModelLoadError('artifact', `cannot read the zone table: ${(err as Error).message}`, { cause: err });
  }
  return { onnxFile, training, zones };
}
