import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { FeatureSet } from '../features/model-contract.js';
import { readMlmodel } from '../mlflow/mlmodel.js';
import { TrainingError } from './errors.js';
import { errorMetrics } from './metrics.js';
import { runOnnx, toInputColumns } from './onnx-check.js';
import { filterTrips } from './trip-filter.js';
import { readTripParquet } from './trip-parquet.js';
import { loadSourceFile } from './trip-source.js';

const USAGE = 'usage: npm run evaluate -- --model models/taxi-ride-duration/2 --data <path|url> [--data …]';

/**
 * Scores a registered model directory on more months, through onnxruntime-node and the same trip
 * filter as training: an independent check of the committed artifact, not of the trainer.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, data: { type: 'string', multiple: true } } });
    if (!values.model || !values.data?.length) throw new TrainingError(`--model and --data are required (${USAGE})`);
    const dir = resolve(values.model);
    const mlmodel = await readMlmodel(dir).catch((error: unknown) => {
      throw new TrainingError((error as Error).message);
    });
    const onnx = await readFile(mlmodel.onnxFile);
    const featureSet = (mlmodel.metadata?.feature_set as FeatureSet | undefined) ?? 'time';
    for (const source of values.data) {
      const file = await loadSourceFile(source);
      const { table } = filterTrips(await readTripParquet(file.bytes, source));
      if (table.rows === 0) throw new TrainingError(`${source}: no trips left after filtering`);
      const pred = await runOnnx(onnx, featureSet, toInputColumns(table));
      const m = errorMetrics(pred, table.duration);
      process.stdout.write(`${file.name}: RMSE ${m.rmse.toFixed(3)}  MAE ${m.mae.toFixed(3)}  (${m.rows} trips, model ${dir})\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
