/**
 * Model URI → a loaded, warmed model, with its load time and failures counted. Used at start-up and by
 * the hot reload (model-updater.ts), which loads the new model with this before swapping it in.
 */
import { ModelLoadError, type ModelLoadFailure } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { readModelDirectory } from '../registry/model-directory.js';
import type { ModelSource, ResolvedModel } from '../registry/model-source.js';
import type { ModelUri } from '../registry/model-uri.js';
import { loadOnnxModel, type LoadedModel } from './onnx-model.js';

/**
 * Loads the version `source` resolves `uri` to, or `resolved` when given (a version lastLoaded offered).
 * A failure after resolving names the version (ModelLoadError.modelVersion), so callers can remember it.
 */
export async function loadModel(source: ModelSource, uri: ModelUri, metrics: Metrics, resolved?: ResolvedModel): Promise<LoadedModel> {
  const started = performance.now();
  // why: each step has its own failure reason; errors that do not carry one are counted under the step that was running.
  let step: ModelLoadFailure = 'resolve';
  let version: string | undefined;
  try {
    const found = resolved ?? (await source.resolve(uri));
    version = `${found.name}/${found.version}`;
    step = 'artifact';
    const directory = await readModelDirectory(found.dir);
    step = 'session';
    const model = await loadOnnxModel(found, directory);
    metrics.modelLoadSeconds.observe((performance.now() - started) / 1000);
    return model;
  } catch (err) {
    const reason: ModelLoadFailure = err instanceof ModelLoadError ? err.reason : step;
    metrics.modelLoadFailures.inc({ reason });
    if (err instanceof ModelLoadError && version !== undefined && err.modelVersion === undefined) {
      throw new ModelLoadError(err.reason, err.message, { cause: err.cause, transient: err.transient, modelVersion: version });
    }
    throw err;
  }
}
