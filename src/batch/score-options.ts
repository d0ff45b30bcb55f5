/** The score command's arguments (docs/batch.md, "Command"). */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { DataError } from '../data/data-error.js';

export const SCORE_USAGE = `usage: npm run score -- --data <TLC parquet: path or http(s) URL> [--data …] --output <dir>
                       [--model <model URI>] [--registry <file:dir | http(s) MLflow URL>] [--threads auto|1|2]
       node dist/score.js …   (the same, in the service's image)

  --data      a green (lpep_) or yellow (tpep_) trip file; repeatable, each is scored on its own
  --output    root directory: <output>/taxi_type=<t>/year=<YYYY>/month=<MM>/{predictions.parquet,summary.json,report.html}
  --model     default MODEL_URI, else models:/taxi-ride-duration@production
  --registry  where models:/ URIs resolve; default REGISTRY_URI (or MLFLOW_TRACKING_URI), else file:models
  --threads   2 = parquet reading and writing on a worker thread beside the model; auto = 2 on 2+ cores`;

export interface ScoreOptions {
  readonly data: readonly string[];
  readonly output: string;
  readonly model: string | undefined;
  readonly registry: string | undefined;
  readonly threads: 1 | 2;
  readonly help: boolean;
}

export function parseScoreArgs(argv: readonly string[], cores = availableParallelism()): ScoreOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        data: { type: 'string', multiple: true },
        output: { type: 'string' },
        model: { type: 'string' },
        registry: { type: 'string' },
        threads: { type: 'string', default: 'auto' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new DataError(`${(error as Error).message} (npm run score -- --help)`);
  }
  const base = { model: values.model, registry: values.registry, help: values.help };
  if (values.help) return { ...base, data: [], output: '', threads: 1 };
  if (!values.data?.length || !values.output) throw new DataError('--data and --output are required (npm run score -- --help)');
  const threads = values.threads === 'auto' ? (cores >= 2 ? 2 : 1) : Number(values.threads);
  if (threads !== 1 && threads !== 2) throw new DataError(`--threads ${values.threads}: expected auto, 1 or 2`);
  return { ...base, data: values.data, output: values.output, threads };
}
