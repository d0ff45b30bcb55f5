/**
 * onnxruntime-node's native session, run on the calling thread.
 *
 * why: the package's public `InferenceSession.run` is this same synchronous native call, deferred to a
 * setImmediate and wrapped in two promise layers (its dist/backend.js). The adaptive batcher
 * (adaptive-batcher.ts) defers to the event loop's check phase itself, so that one run answers every
 * request read in that turn, and then calls the native run directly. The binding module ships typed
 * (onnxruntime-node/dist/binding.d.ts); tests/model/ort-session.test.ts checks that it answers exactly as
 * the public API does, so an upgrade that changes it fails there.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { binding, initOrt } from 'onnxruntime-node/dist/binding.js';

export interface ValueInfo {
  readonly name: string;
  readonly isTensor: boolean;
  /** onnxruntime-common's type name ('float32', 'int64', …), or 'unknown'. */
  readonly type: string;
}

export interface OrtSession {
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];
  /** Runs the graph now, on this thread; throws what onnxruntime throws. */
  runSync(feeds: Readonly<Record<string, Tensor>>, fetches: Readonly<Record<string, null>>): Record<string, Tensor>;
  release(): void;
}

/** ONNX TensorProto data types, as onnxruntime-common names them (the binding reports the numbers). */
const TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
};

const NO_RUN_OPTIONS: InferenceSession.RunOptions = {};

/**
 * Turns onnxruntime's telemetry off for this process, unless ORT_DISABLE_TELEMETRY is already set.
 * why: its official builds, 1.29 on, collect telemetry on Linux too: a device id and an event store
 * under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, `.ses` and `mat-debug-<pid>.log` files in the
 * temp dir for every process, and uploads to Microsoft (docs/operations.md). onnxruntime reads the
 * variable when it creates its environment, at the first session of a process, so every caller that
 * opens a session calls this first.
 */
export function ortTelemetryOffByDefault(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}

/** Loads the model file into a new native session; throws what onnxruntime throws (a bad file, bad options). */
export function openOrtSession(file: string, options: InferenceSession.SessionOptions): OrtSession {
  ortTelemetryOffByDefault();
  initOrt();
  const native = new binding.InferenceSession();
  native.loadModel(file, options);
  const info = (m: { name: string; isTensor: boolean; type: number }): ValueInfo => ({
    name: m.name,
    isTensor: m.isTensor,
    type: TYPE_NAMES[m.type] ?? 'unknown',
  });
  return {
    inputMetadata: native.inputMetadata.map(info),
    outputMetadata: native.outputMetadata.map(info),
    runSync(feeds, fetches) {
      const out = native.run(feeds, fetches, NO_RUN_OPTIONS);
      const tensors: Record<string, Tensor> = {};
      // why: the binding returns Tensors (initOrt hands it the constructor); a plain value is wrapped as the public API does.
      for (const name in out) {
        const value = out[name] as Tensor | { type: Tensor.Type; data: Tensor.DataType; dims: readonly number[] };
        tensors[name] = value instanceof Tensor ? value : new Tensor(value.type, value.data as Float32Array, value.dims);
      }
      return tensors;
    },
    release() {
      native.dispose();
    },
  };
}
