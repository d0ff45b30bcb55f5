import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fetchFailureReason } from '../data/fetch-failure.js';
import { filterTrips } from '../data/trip-filter.js';
import { readTripParquet } from '../data/trip-parquet.js';
import { TrainingError } from './errors.js';
import { pairKeys } from './featurizer.js';

/** The bytes of one input file, and how to name and fingerprint it in training.json. */
export interface SourceFile {
  /** The path or URL as the user gave it. */
  readonly source: string;
  readonly name: string;
  readonly sha256: string;
  readonly bytes: Uint8Array;
}

const DOWNLOAD_TIMEOUT_MS = 120_000;

/** Reads a local file or downloads an http(s) URL whole: a month of TLC trips is a few tens of MB. */
export async function loadSourceFile(source: string): Promise<SourceFile> {
  const bytes = isUrl(source) ? await download(source) : await readLocal(source);
  const name = isUrl(source) ? basename(new URL(source).pathname) || source : basename(source);
  return { source, name, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

async function readLocal(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(code ?? error);
    throw new TrainingError(`cannot read ${path}: ${why}`);
  }
}

async function download(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS), redirect: 'follow' });
  } catch (error) {
    throw new TrainingError(`cannot download ${url}: ${fetchFailureReason(error)}`);
  }
  if (!response.ok) throw new TrainingError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  return new Uint8Array(await response.arrayBuffer());
}

/** The pickup–drop-off pairs (pairKey) of a training file, read and filtered as training read it. */
export async function trainingPairsOf(source: string): Promise<{ pairs: Set<number>; sha256: string }> {
  const file = await loadSourceFile(source);
  const { table } = filterTrips(await readTripParquet(file.bytes, source));
  return { pairs: new Set(pairKeys(table)), sha256: file.sha256 };
}
