/**
 * The embedded registry: the `models/` directory committed with the code (REGISTRY_URI=file:models).
 * Layout, as written by the training pipeline:
 *   <root>/<name>/aliases.json       {"production": "2", ...}
 *   <root>/<name>/<version>/MLmodel  (+ model.onnx, training.json)
 * Versions are never rewritten, so the versions that loaded and warmed up are recorded by number only,
 * outside the registry (which may be read-only, e.g. baked into the image):
 *   <recordDir>/<name>.json          {"loads": [{"uri": …, "version": "2", "at": …}, …]}, newest first
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import { writeFileAtomically } from '../mlflow/staging.js';
import type { ModelSource, ResolvedModel } from './model-source.js';
import type { ModelUri } from './model-uri.js';

type LoadRecord = { loads: { uri: string; version: string; at: string }[] };
const MAX_LOADS = 20;

export function createFileRegistry(root: string, options: { recordDir: string; now?: () => Date }): ModelSource {
  const now = options.now ?? (() => new Date());
  const recordFile = (name: string) => join(options.recordDir, `${name}.json`);
  const readRecord = async (name: string): Promise<LoadRecord> => {
    try {
      const parsed = JSON.parse(await readFile(recordFile(name), 'utf8')) as LoadRecord;
      return Array.isArray(parsed.loads) ? parsed : { loads: [] };
    } catch {
      return { loads: [] };
    }
  };
  const hasModel = async (dir: string) => (await stat(join(dir, 'MLmodel')).catch(() => undefined))?.isFile() === true;

  const source: ModelSource = {
    description: `file:${root}`,
    // why: resolving is a couple of local file reads, cheap enough to poll.
    peek: (uri) => source.resolve(uri),
    async resolve(uri: ModelUri): Promise<ResolvedModel> {
      if (uri.kind !== 'alias' && uri.kind !== 'version') {
        throw new ModelLoadError(
          'resolve',
          `${uri.text}: the file registry answers models:/<name>@<alias> and models:/<name>/<version> only; other forms need an MLflow registry (REGISTRY_URI=http(s)://…)`,
        );
      }
      const modelRoot = join(root, uri.name);
      const version = uri.kind === 'version' ? uri.version : await readAlias(modelRoot, uri.name, uri.alias);
      const dir = join(modelRoot, version);
      if (!(await hasModel(dir))) {
        throw new ModelLoadError('resolve', `model ${uri.name} version ${version} not found (no ${join(dir, 'MLmodel')})`);
      }
      return { name: uri.name, version, alias: uri.kind === 'alias' ? uri.alias : undefined, dir };
    },

    async recordLoaded(uri, model) {
      const record = await readRecord(model.name);
      const loads = [{ uri: uri.text, version: model.version, at: now().toISOString() }, ...record.loads].slice(0, MAX_LOADS);
      await mkdir(options.recordDir, { recursive: true });
      await writeFileAtomically(recordFile(model.name), `${JSON.stringify({ loads }, null, 2)}\n`);
    },

    async lastLoaded(uri) {
      if (uri.kind !== 'alias' && uri.kind !== 'version') return undefined;
      for (const load of (await readRecord(uri.name)).loads) {
        const dir = join(root, uri.name, load.version);
        if (load.uri !== uri.text || !/^[1-9][0-9]*$/.test(load.version) || !(await hasModel(dir))) continue;
        return { name: uri.name, version: load.version, alias: uri.kind === 'alias' ? uri.alias : undefined, dir, stale: true };
      }
      return undefined;
    },
  };
  return source;
}

async function readAlias(modelRoot: string, name: string, alias: string): Promise<string> {
  const file = join(modelRoot, 'aliases.json');
  let aliases: unknown;
  try {
    aliases = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ModelLoadError('resolve', `model ${name}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const version = (aliases as Record<string, unknown> | null)?.[alias];
  // why: Object.hasOwn keeps `constructor` or `__proto__` from resolving through the prototype.
  if (aliases === null || typeof aliases !== 'object' || !Object.hasOwn(aliases, alias)) {
    throw new ModelLoadError('resolve', `model ${name} has no alias ${JSON.stringify(alias)} in ${file}`);
  }
  const text = typeof version === 'number' ? String(version) : version;
  if (typeof text !== 'string' || !/^[1-9][0-9]*$/.test(text)) {
    throw new ModelLoadError('resolve', `model ${name}: alias ${alias} in ${file} is not a version number`);
  }
  return text;
}
