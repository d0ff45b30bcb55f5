/**
 * The model side of every process that predicts: MODEL_URI → model source → updater → slot →
 * predictor. The service (create-service.ts) and batch scoring (src/batch/) build it here, so both
 * load, check and run a model version the same way.
 */
import type { Config } from '../config.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { parseModelUri, type ModelUri } from '../registry/model-uri.js';
import type { ModelSource } from '../registry/model-source.js';
import { selectModelSource } from '../registry/select-source.js';
import { ModelSlot } from './model-slot.js';
import { createModelUpdater, type ModelUpdater } from './model-updater.js';
import type { LoadedModel } from './onnx-model.js';
import { createPredictor, type Predictor } from './predictor.js';

export interface ModelRuntime {
  readonly uri: ModelUri;
  readonly source: ModelSource;
  readonly slot: ModelSlot;
  readonly updater: ModelUpdater;
  readonly predictor: Predictor;
}

export interface ModelRuntimeOptions {
  /** Where relative registry paths (file:models) are resolved. */
  cwd: string;
  lifecycle: Lifecycle;
  /** Alias polling in ms; 0 = the version loaded first stays (batch scoring). */
  pollIntervalMs: number;
  /** Wraps each loaded model before it is installed (micro-batching). */
  prepare?: (model: LoadedModel) => LoadedModel;
  retryMs?: { initial: number; max: number };
}

export function createModelRuntime(
  config: Pick<Config, 'MODEL_URI' | 'REGISTRY_URI' | 'MODEL_CACHE_DIR' | 'MODEL_CACHE_KEEP' | 'MLFLOW'>,
  logger: Logger,
  metrics: Metrics,
  options: ModelRuntimeOptions,
): ModelRuntime {
  const slot = new ModelSlot();
  const uri = parseModelUri(config.MODEL_URI);
  const source = selectModelSource(uri, config, { cwd: options.cwd, logger });
  const updater = createModelUpdater({
    source, uri, slot, metrics, logger, lifecycle: options.lifecycle, pollIntervalMs: options.pollIntervalMs, prepare: options.prepare, retryMs: options.retryMs,
  });
  const predictor = createPredictor({
    slot,
    metrics,
    onListenerError: (err) => logger.error({ err }, 'a prediction listener failed; the prediction was answered'),
  });
  return { uri, source, slot, updater, predictor };
}
