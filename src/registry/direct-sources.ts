/**
 * Model sources that need no registry: MODEL_URI=file:<dir> (an MLflow Model directory on this machine)
 * and MODEL_URI=http(s)://… (a model directory holding MLmodel, or a single .onnx file, on a plain web
 * server). Neither has version numbers, so the version is the first 12 hex digits of the ONNX file's
 * sha256: a changed file is a new version for /model, the metrics and POST /admin/reload.
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ModelLoadError } from '../errors.js';
import { isRegistryError } from '../mlflow/errors.js';
import { parseMlmodel, writeMlmodel } from '../mlflow/mlmodel.js';
import { writeDirectory } from '../mlflow/staging.js';
import { readModelDirectory } from './model-directory.js';
import type { ModelSource, ResolvedModel } from './model-source.js';
import type { ModelUri } from './model-uri.js';

const shortHash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);

/** MODEL_URI=file:<dir>: the directory is served in place; it is polled by hashing its ONNX file. */
export function createPathSource(cwd: string): ModelSource {
  const locate = async (uri: ModelUri): Promise<ResolvedModel> => {
    if (uri.kind !== 'path') throw new ModelLoadError('resolve', `${uri.text}: not a file: model directory`);
    const dir = resolve(cwd, uri.path);
    const { onnxFile } = await readModelDirectory(dir);
    let bytes: Buffer;
    try {
      bytes = await readFile(onnxFile);
    } catch (err) {
      throw new ModelLoadError('artifact', `cannot read ${onnxFile}: ${(err as Error).message}`, { cause: err });
    }
    return { name: basename(dir), version: shortHash(bytes), alias: undefined, dir };
  };
  return { description: `file:${cwd}`, resolve: locate, peek: locate };
}

/**
 * MODEL_URI=http(s)://…: downloads the model into `cacheDir` (MLmodel, its onnx file and training.json
 * when present; a bare .onnx URL gets an MLmodel written beside it). Not polled: each check would be a
 * full download; POST /admin/reload fetches it again.
 */
export function createUrlSource(cacheDir: string, fetchImpl: typeof fetch = globalThis.fetch): ModelSource {
  const get = async (url: string, optional = false): Promise<Buffer | undefined> => {
    let res: Response;
    try {
      res = await fetchImpl(url, { signal: AbortSignal.timeout(120_000) });
    } catch (err) {
      throw new ModelLoadError('resolve', `cannot fetch ${url}: ${(err as Error).message}`, { cause: err });
    }
    if (optional && res.status === 404) return undefined;
    if (!res.ok) throw new ModelLoadError('resolve', `cannot fetch ${url}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  return {
    description: 'http(s) model URL',
    async resolve(uri) {
      if (uri.kind !== 'url') throw new ModelLoadError('resolve', `${uri.text}: not an http(s) model URL`);
      const files: Record<string, Buffer> = {};
      let onnxName = 'model.onnx';
      if (new URL(uri.url).pathname.endsWith('.onnx')) {
        files['model.onnx'] = (await get(uri.url))!;
        files.MLmodel = Buffer.from(writeMlmodel({ onnxData: 'model.onnx', sizeBytes: files['model.onnx'].byteLength }));
      } else {
        const base = uri.url.endsWith('/') ? uri.url : `${uri.url}/`;
        const mlmodel = (await get(new URL('MLmodel', base).href))!;
        files.MLmodel = mlmodel;
        try {
          onnxName = parseMlmodel(mlmodel.toString('utf8'), `${base}MLmodel`).onnxData;
        } catch (err) {
          if (isRegistryError(err)) throw new ModelLoadError('artifact', err.message, { cause: err });
          throw err;
        }
        // why: a URL directory cannot be listed, so only a file beside MLmodel can be fetched.
        if (onnxName.includes('/')) {
          throw new ModelLoadError(
            'artifact',
            `${base}MLmodel: flavors.onnx.data ${JSON.stringify(onnxName)} must be a file beside MLmodel`,
          );
        }
        files[onnxName] = (await get(new URL(onnxName, base).href))!;
        const training = await get(new URL('training.json', base).href, true);
        if (training) files['training.json'] = training;
      }
      const name = createHash('sha256').update(uri.url).digest('hex').slice(0, 16);
      const version = shortHash(files[onnxName]);
      const dir = join(cacheDir, 'urls', name, version);
      if (!(await stat(join(dir, 'MLmodel')).catch(() => undefined))) {
        // why: an existing directory (another load got there first) holds the same bytes: its name is their hash.
        await writeDirectory(dir, async (staging) => {
          for (const [file, bytes] of Object.entries(files)) await writeFile(join(staging, file), bytes);
        });
      }
      return { name: basename(new URL(uri.url).pathname.replace(/\/$/, '')) || 'model', version, alias: undefined, dir };
    },
  };
}
