/**
 * The score command: load the model once through the same source, updater and predictor as the service
 * (model-runtime.ts), then score each file (score-file.ts). Bad input ends with a DataError, an unusable
 * model with a ModelLoadError or a registry error; the runner (src/score.ts) prints them as one line.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import type { Progress } from '../cli/progress.js';
import type { Config } from '../config.js';
import { DataError } from '../data/data-error.js';
import { createModelRuntime } from '../model/model-runtime.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { modelUriWarning } from '../registry/model-uri.js';
import { resolveInput } from './input-file.js';
import { scoreFile, type ScoredFile } from './score-file.js';
import { createInlineIo, type ScoringIo } from './scoring-io.js';
import { createWorkerIo } from './worker-io.js';

export interface ScoreRunOptions {
  readonly data: readonly string[];
  readonly output: string;
  readonly threads: 1 | 2;
  /** Where relative registry paths (file:models) are resolved. */
  readonly cwd: string;
}

async function checkWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new DataError(`cannot write the output directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export async function runScoring(config: Config, logger: Logger, progress: Progress, options: ScoreRunOptions): Promise<ScoredFile[]> {
  await checkWritable(options.output);
  // why no default metrics: nothing scrapes a batch process; the predictor still counts into this registry.
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  // why pollIntervalMs 0: one version scores the whole run; a swap half-way would mix versions in a month.
  const runtime = createModelRuntime(config, logger, { metrics, cwd: options.cwd, lifecycle: { draining: false }, pollIntervalMs: 0 });
  const warning = modelUriWarning(runtime.uri);
  if (warning) logger.warn({ model_uri: config.MODEL_URI.text }, warning);
  // why reload and not start: start() waits out an unreachable registry forever (right for a server
  // that must come up); a batch job should fail now and let its scheduler retry.
  await progress.stage(`load model ${config.MODEL_URI.text}`, () => runtime.updater.reload('refresh'));
  const model = runtime.predictor.model!;
  if (model.stale)
    logger.warn({ model_version: model.modelVersion }, 'the registry could not be reached: scoring with the cached copy of this version');
  const io: ScoringIo = options.threads === 2 ? createWorkerIo() : createInlineIo();
  const scored: ScoredFile[] = [];
  try {
    for (const source of options.data) {
      const input = await progress.stage(`fetch ${source}`, () => resolveInput(source));
      try {
        scored.push(
          await scoreFile(input, {
            predictor: runtime.predictor,
            model,
            modelUri: config.MODEL_URI.text,
            io,
            progress,
            outputRoot: options.output,
            threads: options.threads,
          }),
        );
      } finally {
        await input.release();
      }
    }
  } finally {
    runtime.updater.stop();
    await io.close();
    await runtime.slot.close();
  }
  return scored;
}
