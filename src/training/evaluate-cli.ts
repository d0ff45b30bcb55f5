import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { INTERVAL_OUTPUTS, OUTPUT_NAME, type FeatureSet } from '../features/model-contract.js';
import { readMlmodel } from '../mlflow/mlmodel.js';
import { parseModelUri } from '../registry/model-uri.js';
import { TrainingError } from './errors.js';
import { errorMetrics } from './error-metrics.js';
import { intervalCoverage, type CoverageStats } from './intervals.js';
import { runOnnxOutputs, toInputColumns } from './onnx-check.js';
import { parseRegistryUri, readAliases } from './registry-writer.js';
import { filterTrips } from '../data/trip-filter.js';
import { readTripParquet } from '../data/trip-parquet.js';
import { pairKey } from './featurizer.js';
import { loadSourceFile, trainingPairsOf } from './trip-source.js';

const USAGE = `usage: npm run evaluate -- --model <model> --data <path|url> [--data …] [--registry file:models]
  --model     a model directory (models/taxi-ride-duration/<version>), file:<dir>,
              models:/<name>@<alias> or models:/<name>/<version> (resolved in --registry)
  --data      a TLC trip parquet file to score (repeatable)
  --registry  the embedded registry models:/ URIs are resolved in (default file:models)`;

/**
 * Scores a registered model on more months, through onnxruntime-node and the same trip filter as
 * training: an independent check of the committed artifact, not of the trainer. Reports the interval's
 * coverage too when the graph has interval outputs.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          model: { type: 'string' },
          data: { type: 'string', multiple: true },
          registry: { type: 'string', default: 'file:models' },
          help: { type: 'boolean', short: 'h', default: false },
        },
      }));
    } catch (error) {
      throw new TrainingError(`${(error as Error).message}\n${USAGE}`);
    }
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (!values.model || !values.data?.length) throw new TrainingError(`--model and --data are required\n${USAGE}`);
    const dir = await resolveModelDir(values.model, values.registry);
    const mlmodel = await readMlmodel(dir).catch((error: unknown) => {
      throw new TrainingError((error as Error).message);
    });
    const onnx = await readFile(mlmodel.onnxFile);
    const featureSet = (mlmodel.metadata?.feature_set as FeatureSet | undefined) ?? 'time';
    const seenPairs = await trainingPairs(dir);
    for (const source of values.data) {
      const file = await loadSourceFile(source);
      const { table } = filterTrips(await readTripParquet(file.bytes, source));
      if (table.rows === 0) throw new TrainingError(`${source}: no trips left after filtering`);
      const out = await runOnnxOutputs(onnx, featureSet, toInputColumns(table));
      const m = errorMetrics(out[OUTPUT_NAME], table.duration);
      const lines = [`${file.name}: RMSE ${m.rmse.toFixed(3)}  MAE ${m.mae.toFixed(3)}  (${m.rows} trips, model ${dir})`];
      const [p10, p90] = INTERVAL_OUTPUTS;
      if (out[p10] && out[p90]) {
        const unseen = Uint8Array.from({ length: table.rows }, (_, i) =>
          seenPairs && !seenPairs.has(pairKey(table.puLocationId[i], table.doLocationId[i])) ? 1 : 0,
        );
        const c = intervalCoverage(out[OUTPUT_NAME], out[p10], out[p90], table.duration, unseen);
        lines.push(`  80 % interval (trips below p10 / above p90 / median width):`, `    overall          ${stats(c.overall)}`);
        if (seenPairs) lines.push(`    seen pairs       ${stats(c.seen_pairs)}`, `    unseen pairs     ${stats(c.unseen_pairs)}`);
        c.by_predicted_quintile.forEach((q, i) =>
          lines.push(
            `    quintile ${i + 1} (${q.predicted_minutes[0].toFixed(1)}–${q.predicted_minutes[1].toFixed(1)} min)`.padEnd(34) + stats(q),
          ),
        );
      } else {
        lines.push('  no prediction intervals: this version has no duration_p10/duration_p90 outputs');
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 1;
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const stats = (s: CoverageStats) =>
  `${pct(s.below_p10)} / ${pct(s.above_p90)} / ${s.median_width_minutes.toFixed(1)} min  (${s.rows} trips)`;

/** A directory, file:<dir>, or a models:/ URI resolved in the embedded registry as the service resolves it. */
async function resolveModelDir(model: string, registry: string): Promise<string> {
  if (!/^(models|runs|file):/.test(model)) return resolve(model);
  let uri;
  try {
    uri = parseModelUri(model);
  } catch (error) {
    throw new TrainingError((error as Error).message);
  }
  if (uri.kind === 'path') return resolve(uri.path);
  if (uri.kind !== 'alias' && uri.kind !== 'version')
    throw new TrainingError(`${model}: only models:/<name>@<alias> and models:/<name>/<version> resolve in a file registry`);
  const modelDir = join(parseRegistryUri(registry), uri.name);
  if (uri.kind === 'version') return join(modelDir, uri.version);
  const version = (await readAliases(modelDir))[uri.alias];
  if (!version) throw new TrainingError(`${model}: no alias ${uri.alias} in ${join(modelDir, 'aliases.json')}`);
  return join(modelDir, version);
}

/**
 * The pickup–dropoff pairs of the version's training month, read again from the training file its
 * training.json names (the graph does not list them); undefined when that file is not here.
 */
async function trainingPairs(dir: string): Promise<Set<number> | undefined> {
  try {
    const record = JSON.parse(await readFile(join(dir, 'training.json'), 'utf8')) as { data?: { train?: { source?: string } } };
    const source = record.data?.train?.source;
    if (!source) return undefined;
    return (await trainingPairsOf(source)).pairs;
  } catch {
    return undefined;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
