/**
 * Files and directories that appear whole or not at all: written into a hidden sibling first, then
 * renamed into place in one step (a rename within one file system is atomic). Used by the download,
 * the model cache, the URL source and the training's file-registry writer.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Prefix of staging directories, so that a sweeper can recognise (and age out) leftovers of a killed process. */
export const STAGING_PREFIX = '.staging-';

/** Creates an empty hidden staging directory in `parent` (created if needed). */
export async function createStaging(parent: string): Promise<string> {
  await mkdir(parent, { recursive: true });
  const staging = join(parent, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
  await mkdir(staging);
  return staging;
}

/**
 * Renames `staging` to `dest`. False, leaving `staging` in place, when `dest` already exists (another
 * writer got there first); other failures throw.
 */
export async function renameIfAbsent(staging: string, dest: string): Promise<boolean> {
  try {
    await rename(staging, dest);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Fills a staging directory beside `dest` with `fill`, then renames it to `dest`. `created` is false
 * when `dest` already existed; the staging directory is removed whatever happens.
 */
export async function writeDirectory<T>(dest: string, fill: (staging: string) => Promise<T>): Promise<{ created: boolean; value: T }> {
  const staging = await createStaging(dirname(dest));
  try {
    const value = await fill(staging);
    return { created: await renameIfAbsent(staging, dest), value };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Replaces `file` with `content` in one step (write beside, then rename over it). */
export async function writeFileAtomically(file: string, content: string | Uint8Array): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(temp, content);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
