/**
 * Model URI → a loaded, warmed model, with its load time and failures counted. Used at start-up, and
 * by the hot reload of issue 4 (which loads the new model with this before swapping it in).
 */
import { ModelLoadError, type ModelLoadFailure } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { readModelDirectory, type ModelSource } from '../registry/model-source.js';
import type { ModelUri } from '../registry/model-uri.js';
import { loadOnnxModel, type LoadedModel } from './onnx-model.js';

export async function loadModel(source: ModelSource, uri: ModelUri, metrics: Metrics): Promise<LoadedModel> {
  const started = performance.now();
  // why: each step has its own failure reason; errors that do not carry one (a remote source's own
  // error types) are counted under the step that was running.
  let step: ModelLoadFailure = 'resolve';
  try {
    const resolved = await source.resolve(uri);
    step = 'artifact';
    const directory = await readModelDirectory(resolved.dir);
    step = 'session';
    const model = await loadOnnxModel(resolved, directory);
    metrics.modelLoadSeconds.observe((performance.now() - started) / 1000);
    return model;
  } catch (err) {
    let reason: ModelLoadFailure = step;
    if (err instanceof ModelLoadError) reason = err.reason;
    else if (step === 'resolve' && source.failureReason) reason = source.failureReason(err);
    metrics.modelLoadFailures.inc({ reason });
    throw err;
  }
}
