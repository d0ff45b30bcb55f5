/**
 * A --data argument as a local file to read by row group: a path as given, or an http(s) URL streamed to
 * a temporary file first (a month is tens to hundreds of MB: on disk, never whole in memory).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataError } from '../data/data-error.js';
import { fetchFailureReason } from '../data/fetch-failure.js';

export interface InputFile {
  /** The path or URL as the user gave it. */
  readonly source: string;
  /** The file name, for messages and the summary. */
  readonly name: string;
  readonly path: string;
  readonly bytes: number;
  /** Removes the downloaded copy (nothing for a local file). */
  release(): Promise<void>;
}

const DOWNLOAD_TIMEOUT_MS = 600_000;

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export async function resolveInput(source: string): Promise<InputFile> {
  if (!isUrl(source)) {
    const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
      throw new DataError(`cannot read ${source}: ${error.code === 'ENOENT' ? 'no such file' : String(error.code ?? error)}`);
    });
    if (!info.isFile()) throw new DataError(`cannot read ${source}: it is not a file`);
    return { source, name: basename(source), path: source, bytes: info.size, release: async () => {} };
  }
  const name = basename(new URL(source).pathname) || 'download.parquet';
  const dir = await mkdtemp(join(tmpdir(), 'taxi-score-'));
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    let response: Response;
    try {
      response = await fetch(source, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS), redirect: 'follow' });
    } catch (error) {
      throw new DataError(`cannot download ${source}: ${fetchFailureReason(error)}`);
    }
    if (!response.ok || !response.body)
      throw new DataError(`cannot download ${source}: HTTP ${response.status} ${response.statusText}`.trim());
    const path = join(dir, name);
    try {
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(path));
    } catch (error) {
      throw new DataError(`cannot download ${source}: ${fetchFailureReason(error)}`);
    }
    return { source, name, path, bytes: (await stat(path)).size, release };
  } catch (error) {
    await release();
    throw error;
  }
}
