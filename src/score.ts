/**
 * The batch scoring runner (`npm run score`, `node dist/score.js`): arguments and environment in, one
 * line per scored file on stdout, stage lines (or a progress bar on a terminal) on stderr, exit code
 * out. Bad input ends with one `error: …` line and exit 1; a bug with its stack and exit 2.
 * docs/batch.md is the manual.
 */
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { pino } from 'pino';
import { DataError } from './data/data-error.js';
import { createProgress } from './cli/progress.js';
import { ConfigError, loadConfig } from './config.js';
import { ModelLoadError, ServiceError } from './errors.js';
import { SCORE_USAGE, parseScoreArgs } from './batch/score-options.js';
import { runScoring } from './batch/score-run.js';
import { createLogger } from './observability/logger.js';
import { isRegistryError } from './mlflow/errors.js';

export async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  try {
    const options = parseScoreArgs(argv);
    if (options.help) {
      process.stdout.write(`${SCORE_USAGE}\n`);
      return 0;
    }
    const config = loadConfig({
      ...env,
      ...(options.model ? { MODEL_URI: options.model } : {}),
      ...(options.registry ? { REGISTRY_URI: options.registry } : {}),
    });
    // why stderr: stdout carries the result lines only, so `score … > result.txt` stays clean.
    const logger = createLogger({ level: config.LOG_LEVEL, destination: pino.destination({ dest: 2, sync: false }) });
    const progress = createProgress(process.stderr, Boolean(process.stderr.isTTY), { plainTicks: false });
    const scored = await runScoring(config, logger, progress, {
      data: options.data,
      output: options.output,
      threads: options.threads,
      cwd: process.cwd(),
    });
    for (const { summary: s, dir } of scored) {
      const q = s.quality.overall;
      process.stdout.write(
        `${s.input.taxi_type} ${s.input.month}: ${s.rows.kept} of ${s.rows.read} rows scored by ${s.model.version}, RMSE ${q.rmse?.toFixed(3) ?? '–'}` +
          `, drifted: ${s.drift.reference === null ? 'no reference' : s.drift.drifted_features.join(', ') || 'none'}` +
          ` → ${relative(process.cwd(), dir) || '.'}/ (${s.performance.rows_per_second} rows/s, peak ${s.performance.peak_rss_mb} MB)\n`,
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof DataError || error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    if (isRegistryError(error)) {
      process.stderr.write(`error: model registry (${error.code}): ${error.message}\n`);
      return 1;
    }
    // why: model sources report an unreachable registry as a transient load error (docs/registries.md).
    if (error instanceof ModelLoadError && error.transient) {
      process.stderr.write(`error: model registry (unavailable): ${error.message}\n`);
      return 1;
    }
    if (error instanceof ServiceError) {
      process.stderr.write(`error: cannot score with the model: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`error: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    return 2;
  }
}

// why: importing this module (tests) must not start a run; only `node dist/score.js` / `tsx src/score.ts` does.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  // why: the service's --max-semi-space-size=4 (package.json "start"), set here so that `node dist/score.js`
  // needs no flags; before any allocation worth the name, so the young generation never grows past it.
  setFlagsFromString('--max-semi-space-size=4');
  process.exitCode = await main(process.argv.slice(2), process.env);
}
