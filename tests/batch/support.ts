import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parquetReadObjects, asyncBufferFromFile } from 'hyparquet';
import type { ScoreSummary } from '../../src/batch/summary.js';
import { childEnv } from '../support/child-env.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const SHARED_DATA = resolve(REPO_ROOT, '../shared/data');

/** A real TLC month from ../shared/data; fails naming the path when the shared data is absent. */
export function sharedMonth(file: string): string {
  const path = join(SHARED_DATA, file);
  if (!existsSync(path)) throw new Error(`real-data test: ${path} is missing (the shared TLC data lives in ${SHARED_DATA})`);
  return path;
}

export interface ScoreRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the score command (src/score.ts under tsx) as its own process, with only PATH and `env` set. */
export function runScore(args: string[], env: Record<string, string> = {}): Promise<ScoreRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/score.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...childEnv(), LOG_LEVEL: 'warn', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

/** Every file under `dir`, relative to it. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

export function readSummary(dir: string): ScoreSummary {
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as ScoreSummary;
}

export async function readPredictions(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(path) });
}
