/**
 * Model URI → a loaded, warmed model, with its load time and failures counted. Used at start-up, and
 * by the hot reload of issue 4 (which loads the new model with this before swapping it in).
 */
import { ModelLoadError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { readModelDirectory, type ModelSource } from '../registry/model-source.js';
import type { ModelUri } from '../registry/model-uri.js';
import { loadOnnxModel, type LoadedModel } from './onnx-model.js';

export async function loadModel(source: ModelSource, uri: ModelUri, metrics: Metrics): Promise<LoadedModel> {
  const started = performance.now();
  try {
    const resolved = await source.resolve(uri);
    const directory = await readModelDirectory(resolved.dir);
    const model = await loadOnnxModel(resolved, directory);
    metrics.modelLoadSeconds.observe((performance.now() - started) / 1000);
    return model;
  } catch (err) {
    metrics.modelLoadFailures.inc({ reason: err instanceof ModelLoadError ? err.reason : 'session' });
    throw err;
  }
}
