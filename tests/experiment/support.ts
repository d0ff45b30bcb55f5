import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../service/helpers.js';

export const NAME = 'taxi-ride-duration';
export const FEBRUARY = join(REPO_ROOT, '..', 'shared', 'data', 'green_tripdata_2021-02.parquet');

/** Real-data tests need the shared TLC files; say which path is missing instead of failing obscurely. */
export function requireData(path = FEBRUARY): string {
  if (!existsSync(path)) throw new Error(`real-data test: ${path} is missing (the shared TLC data, see docs/testing.md)`);
  return path;
}

/**
 * A throw-away copy of the embedded registry's versions (never the repo's own aliases): `versions` maps
 * the version number in the copy to a source directory.
 */
export async function copyRegistry(versions: Record<string, string>, aliases: Record<string, string>): Promise<{ root: string; modelDir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'experiment-registry-'));
  const modelDir = join(root, NAME);
  await mkdir(modelDir, { recursive: true });
  for (const [version, from] of Object.entries(versions)) await cp(from, join(modelDir, version), { recursive: true });
  await writeFile(join(modelDir, 'aliases.json'), `${JSON.stringify(aliases, null, 2)}\n`);
  return { root, modelDir };
}

export const embedded = (version: string) => join(REPO_ROOT, 'models', NAME, version);
export const fixture = (version: string) => join(REPO_ROOT, 'tests', 'fixtures', 'registry', NAME, version);
