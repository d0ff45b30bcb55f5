import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Scalar, stringify } from 'yaml';
import { INPUTS_BY_FEATURE_SET, INTERVAL_OUTPUTS, OUTPUT_NAME, type FeatureSet } from '../features/model-contract.js';
import { ZONES_FILE, type ZoneTable } from '../features/zones.js';
import { TrainingError } from './errors.js';
import { ONNX_VERSION } from './onnx-export.js';

/**
 * The embedded (file) registry: `<root>/<name>/<version>/` is an MLflow Model directory and
 * `<root>/<name>/aliases.json` maps alias → version. Versions are integers, never reused.
 */
export interface PublishRequest {
  readonly root: string;
  readonly name: string;
  readonly featureSet: FeatureSet;
  readonly onnx: Uint8Array;
  /** Written as training.json. */
  readonly trainingRecord: unknown;
  readonly alias?: string;
  /** Written as zones.json beside model.onnx, and named in MLmodel's metadata. */
  readonly zoneTable?: ZoneTable;
  /** The graph has the interval outputs (listed in MLmodel's signature). */
  readonly intervals?: boolean;
  /** Injected so tests can pin them; defaults are a random uuid and the current time. */
  readonly modelUuid?: string;
  readonly createdAt?: Date;
}

export interface PublishResult {
  readonly version: string;
  readonly dir: string;
}

/** `file:models`, `file:/abs/dir` or `file:///abs/dir` → a directory; anything else is refused. */
export function parseRegistryUri(uri: string): string {
  const m = /^file:(?:\/\/)?(.+)$/.exec(uri);
  if (!m) throw new TrainingError(`unsupported registry ${uri}: this command writes file: registries (e.g. file:models)`);
  return resolve(m[1]);
}

/**
 * Writes a new version: all files go into a hidden directory beside the versions, which is then
 * renamed into place. A rename onto an existing version fails, so a concurrent writer cannot be
 * overwritten; we then take the next number. On any failure the hidden directory is removed.
 */
export async function publishModel(request: PublishRequest): Promise<PublishResult> {
  assertName(request.name);
  const modelDir = join(request.root, request.name);
  await mkdir(modelDir, { recursive: true });
  const staging = join(modelDir, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(staging);
    await writeModelFiles(staging, request);
    for (let attempt = 0; ; attempt++) {
      const version = String((await latestVersion(modelDir)) + 1);
      try {
        await rename(staging, join(modelDir, version));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if ((code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 10) continue;
        throw error;
      }
      const dir = join(modelDir, version);
      if (request.alias) {
        // why: a version without the alias the user asked for is a partial result; take it back.
        await setAlias(modelDir, request.alias, version).catch(async (error: unknown) => {
          await rm(dir, { recursive: true, force: true });
          throw error;
        });
      }
      return { version, dir };
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** model.onnx, training.json, zones.json (when given) and MLmodel: an MLflow Model directory's files. */
export async function writeModelFiles(dir: string, request: Pick<PublishRequest, 'featureSet' | 'onnx' | 'trainingRecord' | 'zoneTable' | 'intervals' | 'modelUuid' | 'createdAt'>): Promise<void> {
  await writeFile(join(dir, 'model.onnx'), request.onnx);
  await writeFile(join(dir, 'training.json'), `${JSON.stringify(request.trainingRecord, null, 2)}\n`);
  if (request.zoneTable) await writeFile(join(dir, ZONES_FILE), `${JSON.stringify(request.zoneTable, null, 1)}\n`);
  await writeFile(join(dir, 'MLmodel'), mlmodelYaml(request));
}

/** Highest integer version directory, 0 when there is none. */
export async function latestVersion(modelDir: string): Promise<number> {
  const entries = await readdir(modelDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && /^[1-9]\d*$/.test(e.name)).reduce((max, e) => Math.max(max, Number(e.name)), 0);
}

export async function readAliases(modelDir: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(join(modelDir, 'aliases.json'), 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TrainingError(`cannot read ${join(modelDir, 'aliases.json')}: ${(error as Error).message}`);
  }
}

/** Replaces aliases.json atomically (write beside, then rename), keeping the other aliases. */
async function setAlias(modelDir: string, alias: string, version: string): Promise<void> {
  const aliases = { ...(await readAliases(modelDir)), [alias]: version };
  const sorted = Object.fromEntries(Object.entries(aliases).sort(([a], [b]) => a.localeCompare(b)));
  const temp = join(modelDir, `.aliases-${process.pid}-${randomBytes(4).toString('hex')}.json`);
  await writeFile(temp, `${JSON.stringify(sorted, null, 2)}\n`);
  await rename(temp, join(modelDir, 'aliases.json'));
}

function assertName(name: string): void {
  if (name === 'aliases.json' || name.startsWith('.')) throw new TrainingError(`invalid model name ${JSON.stringify(name)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new TrainingError(`invalid model name ${JSON.stringify(name)}: use letters, digits, . _ -`);
}

/** MLmodel as MLflow's onnx flavor writes it (keys sorted, signature as JSON strings). */
export function mlmodelYaml(request: Pick<PublishRequest, 'featureSet' | 'onnx' | 'modelUuid' | 'createdAt' | 'zoneTable' | 'intervals'>): string {
  const tensorSpec = (name: string, dtype: string) => ({ type: 'tensor', 'tensor-spec': { dtype, shape: [-1] }, name });
  const inputs = INPUTS_BY_FEATURE_SET[request.featureSet].map((s) => tensorSpec(s.name, s.type));
  const created = (request.createdAt ?? new Date()).toISOString().replace('T', ' ').replace('Z', '000');
  const document = {
    artifact_path: 'model',
    flavors: {
      onnx: {
        code: null,
        data: 'model.onnx',
        onnx_session_options: null,
        onnx_version: ONNX_VERSION,
        providers: ['CPUExecutionProvider'],
      },
      python_function: { data: 'model.onnx', loader_module: 'mlflow.onnx' },
    },
    is_signature_from_type_hint: false,
    metadata: { feature_set: request.featureSet, training_record: 'training.json', ...(request.zoneTable ? { zone_table: ZONES_FILE } : {}) },
    model_size_bytes: request.onnx.byteLength,
    model_uuid: request.modelUuid ?? randomUUID().replaceAll('-', ''),
    signature: {
      inputs: pythonJson(inputs),
      outputs: pythonJson([OUTPUT_NAME, ...(request.intervals ? INTERVAL_OUTPUTS : [])].map((name) => tensorSpec(name, 'float32'))),
      params: null,
    },
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
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}
