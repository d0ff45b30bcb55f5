/**
 * The model side of every process that predicts (the HTTP service, the stream consumer): metrics →
 * model slot → model source and updater (load, cache, hot swap, optional micro-batching) → predictor.
 * One wiring, so the consumer loads, caches and swaps models exactly as the service does.
 */
import type { Config } from '../config.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { modelUriWarning, parseModelUri, type ModelUri } from '../registry/model-uri.js';
import type { ModelSource } from '../registry/model-source.js';
import { selectModelSource } from '../registry/select-source.js';
import { createMicroBatcher } from './micro-batcher.js';
import { ModelSlot } from './model-slot.js';
import { createModelUpdater, type ModelUpdater } from './model-updater.js';
import type { LoadedModel } from './onnx-model.js';
import { createPredictor, type Predictor } from './predictor.js';

export type ModelRuntimeConfig = Pick<
  Config,
  'MODEL_URI' | 'REGISTRY_URI' | 'MODEL_CACHE_DIR' | 'MODEL_CACHE_KEEP' | 'MODEL_POLL_INTERVAL_S' | 'MLFLOW'
> &
  Partial<Pick<Config, 'MICROBATCH_MAX_SIZE' | 'MICROBATCH_MAX_DELAY_US'>>;

export interface ModelRuntimeOptions {
  /** Where relative registry paths (file:models) are resolved. */
  cwd: string;
  lifecycle: Lifecycle;
  metrics?: Metrics;
  /** Start-up retry backoff of the model updater (tests shorten it). */
  retryMs?: { initial: number; max: number };
}

export interface ModelRuntime {
  readonly metrics: Metrics;
  readonly slot: ModelSlot;
  readonly uri: ModelUri;
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

export function createModelRuntime(config: ModelRuntimeConfig, logger: Logger, options: ModelRuntimeOptions): ModelRuntime {
  const metrics = options.metrics ?? createMetrics();
  const slot = new ModelSlot();
  const maxBatch = config.MICROBATCH_MAX_SIZE ?? 1;
  // Micro-batching (MICROBATCH_MAX_SIZE > 1) wraps each loaded model, at start-up and on every reload.
  const prepare =
    maxBatch > 1
      ? (model: LoadedModel): LoadedModel =>
          createMicroBatcher(model, { maxBatchSize: maxBatch, maxDelayUs: config.MICROBATCH_MAX_DELAY_US ?? 0 }, metrics.microBatch)
      : undefined;
  const uri = parseModelUri(config.MODEL_URI);
  const source = selectModelSource(uri, config, { cwd: options.cwd, logger });
  const updater = createModelUpdater({
    source, uri, slot, metrics, logger, lifecycle: options.lifecycle, pollIntervalMs: config.MODEL_POLL_INTERVAL_S * 1000, prepare,
    retryMs: options.retryMs,
  });
  const predictor = createPredictor({
    slot,
    metrics,
    onListenerError: (err) => logger.error({ err }, 'a prediction listener failed; the prediction was answered'),
  });
  return {
    metrics, slot, uri, source, updater, predictor,
    async start() {
      const warning = modelUriWarning(uri);
      if (warning) logger.warn({ model_uri: config.MODEL_URI }, warning);
      try {
        // why: resolves once a model serves; a registry that cannot be reached is retried inside (live, not ready).
        await updater.start();
      } catch (err) {
        if (err instanceof Error) Object.assign(err, { registry: source.description });
        throw err;
      }
    },
    async close() {
      updater.stop();
      await slot.close();
    },
  };
}
