/**
 * The model side of a process that predicts without the HTTP service (the stream consumer, the Lambda
 * adapter, batch scoring): metrics → model slot → model source and updater (load, cache, alias polling,
 * hot swap) → predictor, wired as create-service.ts wires the service's champion, so MODEL_URI, the
 * registry cache and hot swap behave the same. No batching by default: these callers predict whole
 * batches already.
 */
import type { Config } from '../config.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createModelSource } from '../registry/create-source.js';
import type { ModelSource } from '../registry/model-source.js';
import { modelUriWarning, type ModelUri } from '../registry/model-uri.js';
import { ModelSlot } from './model-slot.js';
import { createModelUpdater, type ModelUpdater } from './model-updater.js';
import type { LoadedModel } from './onnx-model.js';
import { type ChallengerDeps, createPredictor, type Predictor } from './predictor.js';

export type ModelRuntimeConfig = Pick<
  Config,
  'MODEL_URI' | 'REGISTRY_URI' | 'MODEL_CACHE_DIR' | 'MODEL_CACHE_KEEP' | 'MODEL_POLL_INTERVAL_S' | 'MLFLOW'
>;

export interface ModelRuntimeOptions {
  /** Where relative registry paths (file:models) are resolved. */
  cwd: string;
  lifecycle: Lifecycle;
  /** Start-up retry backoff of the model updater (tests shorten it). */
  retryMs?: { initial: number; max: number };
  /** Where the model metrics go; a registry of its own by default. */
  metrics?: Metrics;
  /** Alias polling in ms; MODEL_POLL_INTERVAL_S by default; 0 = the version loaded first stays (batch scoring). */
  pollIntervalMs?: number;
  /** Wraps each loaded model before it is installed (batching). */
  prepare?: (model: LoadedModel) => LoadedModel;
  /** A challenger arm beside this model (the service's experiments, docs/experiments.md). */
  challenger?: ChallengerDeps;
}

export interface ModelRuntime {
  readonly metrics: Metrics;
  readonly uri: ModelUri;
  readonly slot: ModelSlot;
  readonly source: ModelSource;
  readonly updater: ModelUpdater;
  readonly predictor: Predictor;
  /**
   * Loads the first model (retrying while the registry cannot be reached). Rejects on a failure
   * waiting cannot fix; the error carries `registry` (the source's description) for the log line.
   */
  start(): Promise<void>;
  /** Stops polling and releases the model once its in-flight runs are done. */
  close(): Promise<void>;
}

/**
 * Loads the first model of `updater` (the service's champion, or a runtime's model): warns about a
 * MODEL_URI that will not move, then waits until a model serves. The error of a failure waiting cannot
 * fix carries `registry` (the source's description) for the runner's log line.
 */
export async function loadFirstModel(deps: { uri: ModelUri; updater: ModelUpdater; source: ModelSource; logger: Logger }): Promise<void> {
  const warning = modelUriWarning(deps.uri);
  if (warning) deps.logger.warn({ model_uri: deps.uri.text }, warning);
  try {
    // why: resolves once a model serves; a registry that cannot be reached is retried inside (live, not ready).
    await deps.updater.start();
  } catch (err) {
    if (err instanceof Error) Object.assign(err, { registry: deps.source.description });
    throw err;
  }
}

export function createModelRuntime(config: ModelRuntimeConfig, logger: Logger, options: ModelRuntimeOptions): ModelRuntime {
  const metrics = options.metrics ?? createMetrics();
  const slot = new ModelSlot();
  const uri = config.MODEL_URI;
  const source = createModelSource(config, { cwd: options.cwd, logger });
  const updater = createModelUpdater({
    source,
    uri,
    slot,
    metrics,
    logger,
    lifecycle: options.lifecycle,
    pollIntervalMs: options.pollIntervalMs ?? config.MODEL_POLL_INTERVAL_S * 1000,
    prepare: options.prepare,
    retryMs: options.retryMs,
  });
  const predictor = createPredictor({
    slot,
    metrics,
    onListenerError: (err) => logger.error({ err }, 'a prediction listener failed; the prediction was answered'),
    challenger: options.challenger,
  });
  return {
    metrics,
    uri,
    slot,
    source,
    updater,
    predictor,
    start: () => loadFirstModel({ uri, updater, source, logger }),
    async close() {
      updater.stop();
      await slot.close();
    },
  };
}
