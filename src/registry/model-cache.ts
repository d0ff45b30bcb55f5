/**
 * The on-disk cache of downloaded model versions (MODEL_CACHE_DIR), so that a service whose registry is
 * down at start-up can still serve the last version it verified. Layout:
 *   <cache>/<name>/<version>/model/          the MLflow Model directory, as downloaded
 *   <cache>/<name>/<version>/manifest.json   sha256 and size of every file; which URIs resolved here, when;
 *                                            which URIs it loaded and warmed up for, when
 * An entry appears by one rename of a complete staging directory, and every read re-hashes the files:
 * an entry whose files do not match its manifest is refused (and removed), never served. Intact files
 * are not enough to serve a version the URI no longer names: only one that loaded before (lastLoaded).
 * One process per cache directory is assumed (no cross-process locking).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MlflowClient, RegistryLogger } from '../mlflow/client.js';
import { downloadModelDirectory, resolveModelUri, type ResolvedModelVersion } from '../mlflow/download.js';
import { RegistryError, isRegistryError } from '../mlflow/errors.js';
import { STAGING_PREFIX, writeDirectory, writeFileAtomically } from '../mlflow/staging.js';
import type { RegistryModelUri } from './model-uri.js';

export interface CacheManifest {
  readonly format: 1;
  readonly name: string;
  readonly version: string;
  readonly source: string | undefined;
  readonly storageUri: string;
  readonly runId: string | undefined;
  readonly modelId: string | undefined;
  /** flavors.onnx.data, relative to the model directory. */
  readonly onnxData: string;
  readonly downloadedAt: string;
  /** Every file of the model directory (forward slashes), with its sha256 (hex) and size. */
  readonly files: Readonly<Record<string, { sha256: string; size: number }>>;
  /** Which URIs (and aliases) resolved to this version, newest first. */
  readonly resolutions: readonly { uri: string; alias?: string; at: string }[];
  /** Which URIs this version loaded and warmed up for, newest first (absent in entries of older releases). */
  readonly loads?: readonly { uri: string; at: string }[];
}

export interface CachedModel {
  readonly name: string;
  readonly version: string;
  /** The MLflow Model directory. */
  readonly dir: string;
  readonly onnxFile: string;
  readonly manifest: CacheManifest;
  /** True when no file had to be downloaded. */
  readonly fromCache: boolean;
}

export interface ModelCacheOptions {
  /** MODEL_CACHE_DIR. */
  dir: string;
  /** Versions kept per model name, plus the one that loaded last; older ones (by last resolution) are deleted. Default 3. */
  keep?: number;
  logger?: RegistryLogger;
  /** Injected clock for tests. */
  now?: () => Date;
}

export type ModelCache = ReturnType<typeof createModelCache>;

const MAX_RESOLUTIONS = 20;
const STAGING_MAX_AGE_MS = 60 * 60 * 1000;

export function createModelCache(options: ModelCacheOptions) {
  const root = options.dir;
  const keep = options.keep ?? 3;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`model cache: keep must be an integer ≥ 1, got ${keep}`);
  const now = options.now ?? (() => new Date());
  const entryDir = (name: string, version: string) => join(root, segment(name), segment(version));

  const readManifest = async (dir: string): Promise<CacheManifest | undefined> => {
    try {
      const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as CacheManifest;
      return m.format === 1 && typeof m.files === 'object' ? m : undefined;
    } catch {
      return undefined;
    }
  };
  const writeManifest = (dir: string, manifest: CacheManifest) =>
    writeFileAtomically(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const discard = async (dir: string, why: string) => {
    options.logger?.warn({ cacheEntry: dir, reason: why }, 'model cache entry refused and removed');
    await rm(dir, { recursive: true, force: true });
  };

  /** The verified entry, undefined when absent; throws `invalid_model` (and removes it) when corrupt. */
  const get = async (name: string, version: string): Promise<CachedModel | undefined> => {
    const dir = entryDir(name, version);
    const manifest = await readManifest(dir);
    if (!manifest) {
      const exists = await readdir(dir).then(
        () => true,
        () => false,
      );
      if (!exists) return undefined;
      await discard(dir, 'no readable manifest.json');
      throw new RegistryError('invalid_model', `cached model ${name} version ${version} at ${dir} has no readable manifest; removed`);
    }
    const problem = await verify(join(dir, 'model'), manifest);
    if (problem) {
      await discard(dir, problem);
      throw new RegistryError('invalid_model', `cached model ${name} version ${version} at ${dir} is corrupt (${problem}); removed`);
    }
    return { name, version, dir: join(dir, 'model'), onnxFile: join(dir, 'model', manifest.onnxData), manifest, fromCache: true };
  };

  const updateManifest = async (name: string, version: string, change: (m: CacheManifest) => CacheManifest) => {
    const dir = entryDir(name, version);
    const manifest = await readManifest(dir);
    if (!manifest) return undefined;
    const updated = change(manifest);
    await writeManifest(dir, updated);
    return updated;
  };
  const recordResolution = (name: string, version: string, uri: string, alias: string | undefined) =>
    updateManifest(name, version, (m) => {
      const entry = { uri, ...(alias ? { alias } : {}), at: now().toISOString() };
      return { ...m, resolutions: [entry, ...m.resolutions].slice(0, MAX_RESOLUTIONS) };
    });

  const manifests = async (name: string) => {
    const modelDir = join(root, segment(name));
    const versions = await readdir(modelDir, { withFileTypes: true }).catch(() => []);
    const out: CacheManifest[] = [];
    for (const v of versions) {
      if (!v.isDirectory() || v.name.startsWith('.')) continue;
      const m = await readManifest(join(modelDir, v.name));
      if (m) out.push(m);
    }
    return out;
  };

  /** Most recent first: by the newest resolution matching `filter`, then by version number. */
  const newest = async (name: string, filter: (r: CacheManifest['resolutions'][number]) => boolean) => {
    const scored = (await manifests(name))
      .map((m) => ({ m, at: m.resolutions.find(filter)?.at }))
      .filter((x): x is { m: CacheManifest; at: string } => x.at !== undefined);
    return newestFirst(scored);
  };

  /** The first entry of `candidates` that verifies; corrupt ones are removed on the way. */
  const firstGood = async (candidates: CacheManifest[]) => {
    for (const m of candidates) {
      try {
        const found = await get(m.name, m.version);
        if (found) return found;
      } catch (err) {
        if (!isRegistryError(err, 'invalid_model')) throw err;
      }
    }
    return undefined;
  };

  /** Loaded versions, most recently loaded for `uri` first. */
  const loadedFor = async (name: string, uri: string) => {
    const scored = (await manifests(name))
      .map((m) => ({ m, at: m.loads?.find((l) => l.uri === uri)?.at }))
      .filter((x): x is { m: CacheManifest; at: string } => x.at !== undefined);
    return newestFirst(scored);
  };

  const prune = async (name: string, current: string) => {
    const ordered = await newest(name, () => true);
    // why: the most recently loaded version is what a restart falls back to when `current` cannot load.
    const lastLoaded = [...ordered].sort((a, b) => compareText(b.loads?.[0]?.at ?? '', a.loads?.[0]?.at ?? ''))[0];
    const keepToo = lastLoaded?.loads?.length ? lastLoaded.version : undefined;
    const stale = ordered
      .filter((m) => m.version !== current && m.version !== keepToo)
      .slice(Math.max(0, keep - (keepToo && keepToo !== current ? 2 : 1)));
    for (const m of stale) await rm(entryDir(m.name, m.version), { recursive: true, force: true });
    // why: a process killed mid-download leaves its staging directory behind; an hour is far longer
    // than any download in flight, so older ones are leftovers.
    const modelDir = join(root, segment(name));
    for (const e of await readdir(modelDir, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory() || !e.name.startsWith(STAGING_PREFIX)) continue;
      const age = now().getTime() - (await stat(join(modelDir, e.name))).mtimeMs;
      if (age > STAGING_MAX_AGE_MS) await rm(join(modelDir, e.name), { recursive: true, force: true });
    }
  };

  const commit = async (resolved: ResolvedModelVersion, client: MlflowClient): Promise<CachedModel> => {
    const { created } = await writeDirectory(entryDir(resolved.name, resolved.version), async (staging) => {
      const downloaded = await downloadModelDirectory(resolved, client, join(staging, 'model'));
      const files: Record<string, { sha256: string; size: number }> = {};
      for (const f of downloaded.files) files[f.path] = { sha256: await sha256(join(downloaded.dir, ...f.path.split('/'))), size: f.size };
      const at = now().toISOString();
      await writeManifest(staging, {
        format: 1,
        name: resolved.name,
        version: resolved.version,
        source: resolved.source,
        storageUri: resolved.storageUri,
        runId: resolved.runId,
        modelId: resolved.modelId,
        onnxData: downloaded.mlmodel.onnxData,
        downloadedAt: at,
        files,
        resolutions: [{ uri: resolved.uri, ...(resolved.alias ? { alias: resolved.alias } : {}), at }],
      });
    });
    // why: another load of the same version committed first; its entry is as good as ours.
    if (!created) await recordResolution(resolved.name, resolved.version, resolved.uri, resolved.alias);
    const cached = await get(resolved.name, resolved.version);
    if (!cached) throw new RegistryError('invalid_model', `model ${resolved.name} version ${resolved.version} vanished from the cache`);
    return { ...cached, fromCache: false };
  };

  return {
    root,
    get,

    /**
     * Resolves `uri` against the registry and returns the verified local copy, downloading it when it is
     * not cached (or its cached copy is corrupt). Records the resolution; keeps the last `keep` versions.
     */
    async load(uri: RegistryModelUri, client: MlflowClient): Promise<CachedModel> {
      const resolved = await resolveModelUri(uri, client, { logger: options.logger });
      let cached: CachedModel | undefined;
      try {
        cached = await get(resolved.name, resolved.version);
      } catch (err) {
        if (!isRegistryError(err, 'invalid_model')) throw err;
      }
      if (cached) {
        const manifest = await recordResolution(resolved.name, resolved.version, resolved.uri, resolved.alias);
        cached = { ...cached, manifest: manifest ?? cached.manifest };
      }
      const result = cached ?? (await commit(resolved, client));
      await prune(resolved.name, resolved.version);
      return result;
    },

    /** Records that the cached version loaded and warmed up for `uri` (what lastLoaded offers later). */
    async recordLoad(uri: RegistryModelUri, name: string, version: string): Promise<void> {
      await updateManifest(name, version, (m) => ({
        ...m,
        loads: [{ uri: uri.text, at: now().toISOString() }, ...(m.loads ?? [])].slice(0, MAX_RESOLUTIONS),
      }));
    },

    /**
     * The cached version that most recently loaded and warmed up for `uri` and still verifies: what to
     * serve when the version `uri` names now cannot be loaded (or the registry cannot be reached).
     */
    async lastLoaded(uri: RegistryModelUri): Promise<CachedModel | undefined> {
      return firstGood(await loadedFor(cacheName(uri), uri.text));
    },
  };
}

/** The directory name a URI's versions are cached under (the registered name, or the run / logged model id). */
function cacheName(uri: RegistryModelUri): string {
  return uri.kind === 'logged-model' ? uri.modelId : uri.kind === 'run' ? uri.runId : uri.name;
}

/** A name or version as one directory name: no separators, never `.` or `..`. */
function segment(value: string): string {
  if (value === '') throw new RegistryError('invalid_model', 'model cache: empty model name or version');
  return encodeURIComponent(value).replace(/^\.\.?$/, (dots) => dots.replace(/\./g, '%2E'));
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Undefined when `dir` holds exactly the manifest's files with their hashes; otherwise what differs. */
async function verify(dir: string, manifest: CacheManifest): Promise<string | undefined> {
  const present = await walk(dir).catch(() => undefined);
  if (!present) return 'model directory missing';
  const expected = Object.keys(manifest.files);
  const extra = present.filter((p) => !(p in manifest.files));
  if (extra.length) return `unexpected file ${extra[0]}`;
  for (const path of expected) {
    if (!present.includes(path)) return `file ${path} missing`;
    const actual = await sha256(join(dir, ...path.split('/')));
    if (actual !== manifest.files[path].sha256) return `file ${path}: sha256 ${actual} does not match the manifest`;
  }
  return undefined;
}

async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

/** Manifests by their ISO time, newest first, then by the higher version. */
function newestFirst(scored: { m: CacheManifest; at: string }[]): CacheManifest[] {
  return scored.sort((a, b) => compareText(b.at, a.at) || Number(b.m.version) - Number(a.m.version)).map((x) => x.m);
}

/**
 * Code-unit order, which is time order for ISO 8601 times. why not localeCompare: it loads ICU's
 * collation data into the process (RSS, docs/performance.md "Memory") for text that needs none.
 */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
