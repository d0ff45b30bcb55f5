import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { INPUTS_BY_FEATURE_SET, INTERVAL_OUTPUTS, OUTPUT_NAME, type FeatureSet } from '../features/model-contract.js';
import { ZONES_FILE, type ZoneTable } from '../features/zones.js';
import { writeMlmodel } from '../mlflow/mlmodel.js';
import { createStaging, renameIfAbsent, writeFileAtomically } from '../mlflow/staging.js';
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
  const staging = await createStaging(modelDir);
  try {
    await writeModelFiles(staging, request);
    for (let attempt = 0; ; attempt++) {
      const version = String((await latestVersion(modelDir)) + 1);
      if (!(await renameIfAbsent(staging, join(modelDir, version)))) {
        if (attempt < 10) continue;
        throw new TrainingError(`cannot publish ${request.name}: version ${version} kept being taken by another writer`);
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
export async function writeModelFiles(
  dir: string,
  request: Pick<PublishRequest, 'featureSet' | 'onnx' | 'trainingRecord' | 'zoneTable' | 'intervals' | 'modelUuid' | 'createdAt'>,
): Promise<void> {
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
export async function setAlias(modelDir: string, alias: string, version: string): Promise<void> {
  const aliases = { ...(await readAliases(modelDir)), [alias]: version };
  // sort() without a comparator: code-unit order, the same on every machine whatever its locale
  const sorted = Object.fromEntries(
    Object.keys(aliases)
      .sort()
      .map((name) => [name, aliases[name]]),
  );
  await writeFileAtomically(join(modelDir, 'aliases.json'), `${JSON.stringify(sorted, null, 2)}\n`);
}

function assertName(name: string): void {
  if (name === 'aliases.json' || name.startsWith('.')) throw new TrainingError(`invalid model name ${JSON.stringify(name)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new TrainingError(`invalid model name ${JSON.stringify(name)}: use letters, digits, . _ -`);
}

/** MLmodel as MLflow's onnx flavor writes it, with this project's signature and metadata (src/mlflow/mlmodel.ts). */
function mlmodelYaml(request: Pick<PublishRequest, 'featureSet' | 'onnx' | 'modelUuid' | 'createdAt' | 'zoneTable' | 'intervals'>): string {
  return writeMlmodel({
    onnxData: 'model.onnx',
    sizeBytes: request.onnx.byteLength,
    onnxVersion: ONNX_VERSION,
    inputs: INPUTS_BY_FEATURE_SET[request.featureSet].map((s) => ({ name: s.name, dtype: s.type })),
    outputs: [OUTPUT_NAME, ...(request.intervals ? INTERVAL_OUTPUTS : [])].map((name) => ({ name, dtype: 'float32' })),
    metadata: {
      feature_set: request.featureSet,
      training_record: 'training.json',
      ...(request.zoneTable ? { zone_table: ZONES_FILE } : {}),
    },
    modelUuid: request.modelUuid,
    createdAt: request.createdAt,
  });
}
