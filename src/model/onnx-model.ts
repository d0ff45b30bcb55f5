/**
 * An ONNX model ready to serve: an onnxruntime session whose inputs and output were checked against
 * the model contract, warmed up with one inference. Loading is the only I/O; `run` is the hot path.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { ModelLoadError, ServiceError } from '../errors.js';
import {
  INPUTS_BY_FEATURE_SET,
  INTERVAL_OUTPUTS,
  OUTPUT_NAME,
  allocateInputColumns,
  type FeatureSet,
  type InputSpec,
  type ModelInputColumns,
} from '../features/model-contract.js';
import type { ZoneTable } from '../features/zones.js';
import type { ModelDirectory } from '../registry/model-directory.js';
import type { ResolvedModel } from '../registry/model-source.js';
import { openOrtSession, type OrtSession, type ValueInfo } from './ort-session.js';

export interface ModelInfo {
  readonly name: string;
  readonly version: string;
  readonly alias: string | undefined;
  /** `<name>/<version>`: the response's model_version and the metrics' label. */
  readonly modelVersion: string;
  readonly featureSet: FeatureSet;
  readonly inputs: readonly InputSpec[];
  readonly outputs: readonly { name: string; type: string }[];
  /** The graph also outputs duration_p10 and duration_p90 (an 80 % interval). */
  readonly intervals: boolean;
  /** training.json, when the model directory has one. */
  readonly training: Record<string, unknown> | undefined;
  /** zones.json: the zones this version knows, with names and centroids; undefined before version 4. */
  readonly zones?: ZoneTable;
  readonly loadedAt: Date;
  /** True when this is not what MODEL_URI names now but the newest version that loaded before (docs/registries.md). */
  readonly stale?: boolean;
  /** Why the stale version serves (GET /model's stale_reason). */
  readonly staleReason?: string;
}

/**
 * What one run computes for `n` trips, in minutes. `p10`/`p90` bound the 80 % prediction interval and
 * are present exactly when the model's graph has the interval outputs (docs/model.md).
 */
export interface ModelOutputs {
  readonly duration: Float32Array;
  readonly p10?: Float32Array;
  readonly p90?: Float32Array;
}

/** A loaded model. `run` may be called concurrently; `release` frees the native session (call once, when idle). */
export interface LoadedModel {
  readonly info: ModelInfo;
  /** Runs the first `n` rows of `columns`. Rejects with ServiceError('inference_failed'). */
  run(columns: ModelInputColumns, n: number): Promise<ModelOutputs>;
  /**
   * `run`, now, on this thread (onnxruntime-node runs a session on the calling thread either way):
   * what the adaptive batcher calls from its own check-phase callback. Throws ServiceError('inference_failed').
   * Absent on wrappers that cannot answer synchronously.
   */
  runNow?(columns: ModelInputColumns, n: number): ModelOutputs;
  release(): Promise<void>;
}

/** Rows `start`..`end` of each output (views, no copies). */
export function sliceOutputs(out: ModelOutputs, start: number, end: number): ModelOutputs {
  const duration = out.duration.subarray(start, end);
  if (out.p10 === undefined || out.p90 === undefined) return { duration };
  return { duration, p10: out.p10.subarray(start, end), p90: out.p90.subarray(start, end) };
}

// why: the model is a few hundred nodes; onnxruntime's thread pools cost more than they save on it,
// and one thread per session leaves the cores to Node's event loop (and later, to more workers).
const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
};

interface Signature {
  featureSet: FeatureSet;
  inputs: readonly InputSpec[];
  intervals: boolean;
}

/** Which feature set the session's inputs match, or a ModelLoadError('signature') saying what differs. */
function checkSignature(session: OrtSession): Signature {
  const declared = new Map<string, string>();
  for (const meta of session.inputMetadata) declared.set(meta.name, meta.isTensor ? meta.type : 'non-tensor');
  const output = session.outputMetadata.find((m) => m.name === OUTPUT_NAME);
  if (!output?.isTensor || output.type !== 'float32') {
    throw new ModelLoadError(
      'signature',
      `model output must be a float32 tensor named "${OUTPUT_NAME}"; the model declares ${describe(session.outputMetadata)}`,
    );
  }
  // why: both interval outputs or neither; a graph with one bound would answer half an interval.
  const bounds = INTERVAL_OUTPUTS.map((name) => session.outputMetadata.find((m) => m.name === name));
  const present = bounds.filter((m) => m !== undefined);
  if (present.length === 1 || present.some((m) => !m.isTensor || m.type !== 'float32')) {
    throw new ModelLoadError(
      'signature',
      `interval outputs must be two float32 tensors named ${INTERVAL_OUTPUTS.join(' and ')}; the model declares ${describe(session.outputMetadata)}`,
    );
  }
  const intervals = present.length === 2;
  for (const featureSet of ['time', 'base'] as const) {
    const inputs = INPUTS_BY_FEATURE_SET[featureSet];
    if (declared.size === inputs.length && inputs.every((spec) => declared.get(spec.name) === spec.type)) {
      return { featureSet, inputs, intervals };
    }
  }
  const expected = (['base', 'time'] as const)
    .map((fs) => `${fs}: ${INPUTS_BY_FEATURE_SET[fs].map((s) => `${s.name}:${s.type}`).join(', ')}`)
    .join(' | ');
  throw new ModelLoadError(
    'signature',
    `model inputs ${describe(session.inputMetadata)} match no feature set of the contract (${expected})`,
  );
}

function describe(metadata: readonly ValueInfo[]): string {
  return `[${metadata.map((m) => `${m.name}:${m.isTensor ? m.type : 'non-tensor'}`).join(', ')}]`;
}

/**
 * Creates the session, checks its signature and runs a warm-up inference (the first run allocates
 * and is slow; readiness must not be reported before it). Throws ModelLoadError with a reason.
 */
export async function loadOnnxModel(resolved: ResolvedModel, directory: ModelDirectory): Promise<LoadedModel> {
  let session: OrtSession;
  try {
    session = openOrtSession(directory.onnxFile, SESSION_OPTIONS);
  } catch (err) {
    throw new ModelLoadError('session', `cannot load ${directory.onnxFile}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const { featureSet, inputs, intervals } = checkSignature(session);
    const runNow = makeRun(session, inputs, intervals);
    const warm = allocateInputColumns(1);
    warm.PULocationID[0] = 1n;
    warm.DOLocationID[0] = 1n;
    warm.trip_distance[0] = 1;
    let out: ModelOutputs;
    try {
      out = runNow(warm, 1);
    } catch (err) {
      throw new ModelLoadError('warmup', `warm-up inference failed: ${(err as Error).message}`, { cause: err });
    }
    if (out.duration.length !== 1 || !Number.isFinite(out.duration[0])) {
      throw new ModelLoadError('warmup', `warm-up inference returned ${out.duration[0]} instead of a finite duration`);
    }
    const info: ModelInfo = {
      name: resolved.name,
      version: resolved.version,
      alias: resolved.alias,
      modelVersion: `${resolved.name}/${resolved.version}`,
      featureSet,
      inputs,
      outputs: [OUTPUT_NAME, ...(intervals ? INTERVAL_OUTPUTS : [])].map((name) => ({ name, type: 'float32' })),
      intervals,
      training: directory.training,
      zones: directory.zones,
      loadedAt: new Date(),
      stale: resolved.stale === true,
      ...(resolved.stale && resolved.staleReason ? { staleReason: resolved.staleReason } : {}),
    };
    // why: like onnxruntime-node's own run, a request's run waits for the check phase, so the request
    // that asked returns to the event loop first (a caller awaiting it sees the same order as before).
    const run = (columns: ModelInputColumns, n: number) =>
      new Promise<ModelOutputs>((resolve, reject) => {
        setImmediate(() => {
          try {
            resolve(runNow(columns, n));
          } catch (err) {
            reject(err);
          }
        });
      });
    return { info, run, runNow, release: async () => session.release() };
  } catch (err) {
    session.release();
    throw err;
  }
}

function makeRun(session: OrtSession, inputs: readonly InputSpec[], intervals: boolean) {
  const names = inputs.map((s) => s.name) as (keyof ModelInputColumns)[];
  const types = inputs.map((s) => s.type);
  const [p10Name, p90Name] = INTERVAL_OUTPUTS;
  const fetches: Record<string, null> = { [OUTPUT_NAME]: null };
  if (intervals) (fetches[p10Name] = null), (fetches[p90Name] = null);
  const column = (output: Record<string, Tensor>, name: string, n: number): Float32Array => {
    const data = output[name]?.data;
    if (!(data instanceof Float32Array) || data.length !== n) {
      throw new ServiceError('inference_failed', `the model returned ${data?.length ?? 'no'} values of ${name} for ${n} trips`);
    }
    return data;
  };
  return (columns: ModelInputColumns, n: number): ModelOutputs => {
    const feeds: Record<string, Tensor> = {};
    const dims = [n];
    for (let i = 0; i < names.length; i++) {
      const column = columns[names[i]];
      const data = column.length === n ? column : column.subarray(0, n);
      feeds[names[i]] = new Tensor(types[i], data, dims);
    }
    let output: Record<string, Tensor>;
    try {
      output = session.runSync(feeds, fetches);
    } catch (err) {
      throw new ServiceError('inference_failed', 'the model failed to run', { cause: err });
    }
    const duration = column(output, OUTPUT_NAME, n);
    if (!intervals) return { duration };
    return { duration, p10: column(output, p10Name, n), p90: column(output, p90Name, n) };
  };
}
