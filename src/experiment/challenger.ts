/**
 * The challenger's own model slot and updater: the same sources, cache, warm-up, polling and hot swap
 * as the champion (MODEL_URI), wired independently of it. Nothing here can make the service unready or
 * an answer fail: the challenger's load failures are logged and counted under its own metrics
 * (challenger_model_load_failures_total, challenger_model_info), and a failed first load is retried at
 * every poll interval.
 */
import type { Config } from '../config.js';
import type { Lifecycle } from '../lifecycle.js';
import { ModelSlot } from '../model/model-slot.js';
import { isTransientLoadError } from '../errors.js';
import { createModelUpdater, type ModelUpdater } from '../model/model-updater.js';
import type { LoadedModel } from '../model/onnx-model.js';
import type { ChallengerDeps } from '../model/predictor.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createModelSource } from '../registry/create-source.js';

export interface Challenger {
  /** What the predictor needs: the slot and the routing. */
  readonly arm: ChallengerDeps;
  readonly slot: ModelSlot;
  readonly updater: ModelUpdater;
  /** Starts loading in the background; never rejects. */
  start(): void;
  /** Stops polling and releases the model once its in-flight runs finish. */
  stop(): Promise<void>;
}

export interface ChallengerOptions {
  metrics: Metrics;
  logger: Logger;
  cwd: string;
  prepare?: (model: LoadedModel) => LoadedModel;
  retryMs?: { initial: number; max: number };
}

/** Undefined when CHALLENGER_URI is unset. */
export function createChallenger(
  config: Pick<
    Config,
    | 'CHALLENGER_URI'
    | 'CHALLENGER_MODE'
    | 'CHALLENGER_PERCENT'
    | 'MODEL_POLL_INTERVAL_S'
    | 'REGISTRY_URI'
    | 'MODEL_CACHE_DIR'
    | 'MODEL_CACHE_KEEP'
    | 'MLFLOW'
  >,
  { metrics, logger: parent, cwd, prepare, retryMs }: ChallengerOptions,
): Challenger | undefined {
  if (config.CHALLENGER_URI === undefined) return undefined;
  const logger = parent.child({ arm: 'challenger' });
  const uri = config.CHALLENGER_URI;
  // why: the one source factory, asked for the challenger's URI; the cache and its load records are shared with the champion.
  const source = createModelSource({ ...config, MODEL_URI: uri }, { cwd, logger });
  const slot = new ModelSlot();
  const { challengerInfo, challengerLoadSeconds, challengerLoadFailures } = metrics.experiment;
  // why: the updater reports loads through these three; the champion's metrics and readiness must not move.
  const ownMetrics: Metrics = {
    ...metrics,
    modelLoadSeconds: challengerLoadSeconds,
    modelLoadFailures: challengerLoadFailures,
    setServedModel(model) {
      challengerInfo.reset();
      challengerInfo.labels(model.name, model.version, model.alias ?? '', String(model.stale === true)).set(1);
    },
  };
  const ownLifecycle: Lifecycle = { draining: false };
  const pollIntervalMs = config.MODEL_POLL_INTERVAL_S * 1000;
  const updater = createModelUpdater({
    source,
    uri,
    slot,
    metrics: ownMetrics,
    logger,
    lifecycle: ownLifecycle,
    pollIntervalMs,
    prepare,
    retryMs,
  });
  const arm: ChallengerDeps = {
    slot,
    mode: config.CHALLENGER_MODE,
    percent: config.CHALLENGER_PERCENT,
    onError: (err, mode) =>
      logger.warn({ err, mode, model_version: slot.current?.info.modelVersion }, 'challenger prediction failed; the champion answered'),
  };

  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const attempt = async (): Promise<void> => {
    try {
      await updater.start();
    } catch (err) {
      if (stopped) return;
      const fields = { err, challenger_uri: uri.text, registry: source.description };
      if (isTransientLoadError(err)) logger.warn(fields, 'challenger registry unreachable; the champion serves alone');
      else logger.error(fields, `challenger not loaded; the champion serves alone: ${(err as Error).message}`);
      // why: the alias may be set (or fixed) later; without polling, POST /admin/reload or a restart picks it up.
      if (pollIntervalMs > 0) {
        retry = setTimeout(() => void attempt(), pollIntervalMs);
        retry.unref();
      }
    }
  };

  return {
    arm,
    slot,
    updater,
    start() {
      logger.info({ challenger_uri: uri.text, mode: config.CHALLENGER_MODE, percent: config.CHALLENGER_PERCENT }, 'loading the challenger');
      void attempt();
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      updater.stop();
      await slot.close();
    },
  };
}
