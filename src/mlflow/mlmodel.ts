/**
 * The MLmodel file of an MLflow Model directory: the one reader (serving, the cache, the download,
 * evaluation) and the one writer (training). Only what an ONNX model needs is interpreted; the rule is
 * MLflow's own onnx flavor loader's: `flavors.onnx.data` names the ONNX file, beside MLmodel or below it.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Scalar, parse as parseYaml, stringify } from 'yaml';
import { RegistryError } from './errors.js';

/** What MLmodel says, reduced to what serving needs. */
export interface MlmodelInfo {
  /** Every flavor name in MLmodel, sorted. */
  readonly flavors: readonly string[];
  /** flavors.onnx.data: the ONNX file, relative to the model directory (forward slashes). */
  readonly onnxData: string;
  readonly runId: string | undefined;
  readonly modelId: string | undefined;
  readonly mlflowVersion: string | undefined;
  /** signature.inputs / outputs as MLflow writes them (JSON strings), when present. */
  readonly signature: { inputs?: string; outputs?: string } | undefined;
  /** The free-form `metadata` mapping, when present (this project keeps feature_set there). */
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
}

/** MlmodelInfo of a directory on disk, with the ONNX file checked to exist. */
export interface MlmodelFile extends MlmodelInfo {
  /** Absolute path of the ONNX file; load it by path so ONNX Runtime finds external data beside it. */
  readonly onnxFile: string;
}

/**
 * Parses MLmodel text and requires the onnx flavor with its `data`. Throws `invalid_model` naming the
 * flavors the model has when onnx is not among them, and when `data` is missing or leaves the directory.
 */
export function parseMlmodel(text: string, what: string): MlmodelInfo {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new RegistryError('invalid_model', `${what} has an unreadable MLmodel: ${(err as Error).message}`, { cause: err });
  }
  const m = (doc !== null && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
  const flavors = m.flavors && typeof m.flavors === 'object' ? (m.flavors as Record<string, unknown>) : {};
  const names = Object.keys(flavors).sort();
  const onnx = flavors.onnx as Record<string, unknown> | null | undefined;
  if (!onnx || typeof onnx !== 'object') {
    throw new RegistryError(
      'invalid_model',
      `${what} has no onnx flavor; its flavors are: ${names.join(', ') || 'none'}. This service serves ONNX models only ` +
        '(log the model with mlflow.onnx.log_model, or train it with this project)',
    );
  }
  if (typeof onnx.data !== 'string' || onnx.data === '') {
    throw new RegistryError('invalid_model', `${what}: MLmodel has an onnx flavor without flavors.onnx.data (the ONNX file's name)`);
  }
  // why: MLmodel comes from a registry; it must not point the loader outside the model directory.
  const rel = relative(resolve('/m'), resolve('/m', onnx.data));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || isAbsolute(onnx.data)) {
    throw new RegistryError('invalid_model', `${what}: flavors.onnx.data ${JSON.stringify(onnx.data)} points outside the model directory`);
  }
  const sig = m.signature as Record<string, unknown> | null | undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    flavors: names,
    onnxData: rel.split('\\').join('/'),
    runId: str(m.run_id),
    modelId: str(m.model_id),
    mlflowVersion: str(m.mlflow_version),
    signature: sig && typeof sig === 'object' ? { inputs: str(sig.inputs), outputs: str(sig.outputs) } : undefined,
    metadata:
      m.metadata && typeof m.metadata === 'object' && !Array.isArray(m.metadata) ? (m.metadata as Record<string, unknown>) : undefined,
  };
}

/** Reads `<dir>/MLmodel` (parseMlmodel's rules) and checks that the ONNX file it names is there. */
export async function readMlmodel(dir: string, what = dir): Promise<MlmodelFile> {
  let text: string;
  try {
    text = await readFile(join(dir, 'MLmodel'), 'utf8');
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'has no MLmodel file (not an MLflow Model directory)'
        : `has an unreadable MLmodel: ${(err as Error).message}`;
    throw new RegistryError('invalid_model', `${what} ${why}`, { cause: err });
  }
  const info = parseMlmodel(text, what);
  const onnxFile = resolve(dir, info.onnxData);
  if (
    !(await stat(onnxFile).then(
      (s) => s.isFile(),
      () => false,
    ))
  ) {
    throw new RegistryError('invalid_model', `${what}: flavors.onnx.data names ${info.onnxData}, which is not among the model's files`);
  }
  return { ...info, onnxFile };
}

/** One tensor of an MLflow signature. */
export interface TensorSpec {
  readonly name: string;
  /** numpy dtype name: float32, int64… */
  readonly dtype: string;
}

export interface MlmodelSpec {
  /** flavors.onnx.data; default model.onnx. */
  readonly onnxData?: string;
  /** Size of the ONNX file (model_size_bytes). */
  readonly sizeBytes?: number;
  /** onnx_version of the onnx flavor. */
  readonly onnxVersion?: string;
  /** The signature; omitted when absent. */
  readonly inputs?: readonly TensorSpec[];
  readonly outputs?: readonly TensorSpec[];
  readonly metadata?: Record<string, unknown>;
  /** Injected so tests can pin them; defaults are a random uuid and the current time. */
  readonly modelUuid?: string;
  readonly createdAt?: Date;
}

/**
 * MLmodel as mlflow.onnx.save_model writes it (keys sorted, signature as JSON strings, creation time
 * quoted). With only `onnxData`, the smallest MLmodel this service (and MLflow) can load.
 */
export function writeMlmodel(spec: MlmodelSpec = {}): string {
  const data = spec.onnxData ?? 'model.onnx';
  const tensor = (t: TensorSpec) => ({ type: 'tensor', 'tensor-spec': { dtype: t.dtype, shape: [-1] }, name: t.name });
  const created = (spec.createdAt ?? new Date()).toISOString().replace('T', ' ').replace('Z', '000');
  const document = {
    artifact_path: 'model',
    flavors: {
      onnx: {
        code: null,
        data,
        onnx_session_options: null,
        ...(spec.onnxVersion ? { onnx_version: spec.onnxVersion } : {}),
        providers: ['CPUExecutionProvider'],
      },
      python_function: { data, loader_module: 'mlflow.onnx' },
    },
    is_signature_from_type_hint: false,
    ...(spec.metadata ? { metadata: spec.metadata } : {}),
    ...(spec.sizeBytes !== undefined ? { model_size_bytes: spec.sizeBytes } : {}),
    model_uuid: spec.modelUuid ?? randomUUID().replaceAll('-', ''),
    ...(spec.inputs && spec.outputs
      ? { signature: { inputs: pythonJson(spec.inputs.map(tensor)), outputs: pythonJson(spec.outputs.map(tensor)), params: null } }
      : {}),
    type_hint_from_example: false,
    utc_time_created: quoted(created),
  };
  return stringify(document, { sortMapEntries: true, lineWidth: 0 });
}

/** MLflow quotes the creation time so that YAML 1.1 readers (PyYAML) keep it a string, not a timestamp. */
function quoted(text: string): Scalar {
  const scalar = new Scalar(text);
  scalar.type = Scalar.QUOTE_SINGLE;
  return scalar;
}

/** JSON with Python's default separators, as MLflow stores signatures. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}
