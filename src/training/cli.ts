import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { FeatureSet } from '../features/model-contract.js';
import { loadMlflowOptions } from '../config.js';
import { isRegistryError } from '../mlflow/errors.js';
import { DataError } from '../data/data-error.js';
import { TrainingError } from './errors.js';
import { PRESETS, type Preset } from './presets.js';
import type { SplitMetrics } from './trained-model.js';
import { CALIBRATION_SCHEMES, DEFAULT_CALIBRATION, type CalibrationScheme, type CoverageReport, type IntervalScale } from './intervals.js';
import { createProgress } from '../cli/progress.js';
import { runTraining, type TrainOptions } from './run-training.js';

const USAGE = `usage: npm run train -- --train <path|url> --validation <path|url> [--features base|time]
       [--registry file:models | http(s)://<mlflow tracking server>] [--name taxi-ride-duration] [--alias production] [--seed 42]
       [--evaluate <path|url>]...   (more months to report metrics on)
       [--zones ../shared/data/taxi_zone_centroids.csv]   (zone centroids: LocationID,lon,lat)
       [--zone-lookup ../shared/data/taxi_zone_lookup.csv]   (zone names for zones.json: LocationID,Borough,Zone,service_zone)
       [--preset serving|accurate]   (serving: few large trees, fast to run; accurate: ~750 small trees)
       [--calibration gap|forward-weeks|last-week|leave-week-out] [--interval-scale additive|multiplicative]
                                     (how the 80 % interval is calibrated on the training month; docs/model.md)`;

/** Turns argv into options; throws TrainingError with the usage on anything it cannot use. */
export function parseCliArgs(argv: string[]): TrainOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        train: { type: 'string' },
        validation: { type: 'string' },
        evaluate: { type: 'string', multiple: true },
        features: { type: 'string', default: 'time' },
        registry: { type: 'string', default: 'file:models' },
        name: { type: 'string', default: 'taxi-ride-duration' },
        alias: { type: 'string' },
        seed: { type: 'string', default: '42' },
        zones: { type: 'string' },
        'zone-lookup': { type: 'string' },
        preset: { type: 'string', default: 'serving' },
        calibration: { type: 'string', default: DEFAULT_CALIBRATION.scheme.kind },
        'interval-scale': { type: 'string', default: DEFAULT_CALIBRATION.scale },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new TrainingError(`${(error as Error).message} (npm run train -- --help)`);
  }
  if (values.help) throw new HelpRequested(USAGE);
  if (!values.train || !values.validation) throw new TrainingError('--train and --validation are required (npm run train -- --help)');
  if (values.features !== 'base' && values.features !== 'time')
    throw new TrainingError(`--features must be base or time, not ${values.features}`);
  if (!Object.hasOwn(PRESETS, values.preset)) throw new TrainingError(`--preset must be serving or accurate, not ${values.preset}`);
  const scheme = CALIBRATION_SCHEMES[values.calibration as CalibrationScheme['kind']];
  if (!Object.hasOwn(CALIBRATION_SCHEMES, values.calibration))
    throw new TrainingError(`--calibration must be one of ${Object.keys(CALIBRATION_SCHEMES).join(', ')}, not ${values.calibration}`);
  const scale = values['interval-scale'];
  if (scale !== 'additive' && scale !== 'multiplicative')
    throw new TrainingError(`--interval-scale must be additive or multiplicative, not ${scale}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new TrainingError(`--seed must be an integer from 0 to 4294967295, not ${values.seed}`);
  let mlflow;
  if (/^https?:\/\//.test(values.registry)) {
    // why: credentials, timeout and retries come from MLflow's own variables (MLFLOW_TRACKING_TOKEN, …).
    try {
      mlflow = loadMlflowOptions(process.env, values.registry);
    } catch (error) {
      throw new TrainingError((error as Error).message);
    }
  }
  return {
    mlflow,
    train: values.train,
    validation: values.validation,
    evaluate: values.evaluate ?? [],
    featureSet: values.features as FeatureSet,
    registry: values.registry,
    name: values.name,
    alias: values.alias,
    seed,
    zones: values.zones,
    zoneLookup: values['zone-lookup'],
    params: PRESETS[values.preset as Preset],
    calibration: { ...DEFAULT_CALIBRATION, scheme, scale: scale as IntervalScale },
  };
}

const fmt = (m: SplitMetrics) =>
  `RMSE ${m.overall.rmse.toFixed(3)}  MAE ${m.overall.mae.toFixed(3)}  (${m.overall.rows} trips` +
  (m.unseenPairs.rows
    ? `; unseen pairs ${(100 * m.unseenPairs.share).toFixed(1)}%: RMSE ${m.unseenPairs.rmse.toFixed(3)}  MAE ${m.unseenPairs.mae.toFixed(3)})`
    : `)`);

class HelpRequested extends Error {}

/** One line per month: the share of trips outside the 80 % interval on each side, and its median width. */
function coverageLines(record: Record<string, unknown>): string[] {
  const intervals = record.intervals as { validation: CoverageReport; evaluation: Record<string, CoverageReport> } | undefined;
  if (!intervals) return [];
  const line = (label: string, c: CoverageReport) =>
    `  ${label}  80 % interval: ${pct(c.overall.below_p10)} below p10, ${pct(c.overall.above_p90)} above p90, median width ${c.overall.median_width_minutes.toFixed(1)} min`;
  return [line('validation', intervals.validation), ...Object.entries(intervals.evaluation).map(([file, c]) => line(file, c))];
}

const pct = (share: number) => `${(100 * share).toFixed(1)} %`;

export async function main(argv: string[]): Promise<number> {
  try {
    const options = parseCliArgs(argv);
    const progress = createProgress();
    const outcome = await runTraining(options, progress);
    const lines = [
      `registered ${options.name} version ${outcome.version} in ${outcome.dir}${options.alias ? ` (alias ${options.alias})` : ''}`,
      `  train       ${fmt(outcome.train)}`,
      `  validation  ${fmt(outcome.validation)}`,
      ...Object.entries(outcome.evaluation).map(([file, m]) => `  ${file}  ${fmt(m)}`),
      ...coverageLines(outcome.record),
      `  peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${error.message}\n`);
      return 0;
    }
    if (isRegistryError(error)) {
      process.stderr.write(`error: MLflow (${error.code}): ${error.message}\n`);
      return 1;
    }
    if (error instanceof TrainingError || error instanceof DataError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`error: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    return 2;
  }
}

// why: importing this module (tests) must not start a run; only `tsx src/training/cli.ts` does.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
