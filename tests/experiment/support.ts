import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/app.js';

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
export async function copyRegistry(
  versions: Record<string, string>,
  aliases: Record<string, string>,
): Promise<{ root: string; modelDir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'experiment-registry-'));
  const modelDir = join(root, NAME);
  await mkdir(modelDir, { recursive: true });
  for (const [version, from] of Object.entries(versions)) await cp(from, join(modelDir, version), { recursive: true });
  await writeFile(join(modelDir, 'aliases.json'), `${JSON.stringify(aliases, null, 2)}\n`);
  return { root, modelDir };
}

export const embedded = (version: string) => join(REPO_ROOT, 'models', NAME, version);
export const fixture = (version: string) => join(REPO_ROOT, 'tests', 'fixtures', 'registry', NAME, version);

import { closedLoop } from '../support/load.js';
import { loadConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/create-service.js';
import { createLogger } from '../../src/observability/logger.js';
import type { LogLine } from '../support/app.js';

/** Tuesday 2021-02-09 12:00 New York: trips without a pickup time are predicted for it, so answers repeat exactly. */
export const PINNED_NOW = Date.UTC(2021, 1, 9, 17, 0, 0);

export interface RunningService {
  service: Service;
  url: string;
  port: number;
  logs: LogLine[];
  /** Resolves with the first log line matching, already logged or yet to come. */
  logged(match: (line: LogLine) => boolean): Promise<LogLine>;
  close(): Promise<void>;
}

/** createService, as production composes it, against a file registry, on 127.0.0.1:0. */
export async function startService(env: Record<string, string>): Promise<RunningService> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    SHUTDOWN_DRAIN_MS: '0',
    MODEL_POLL_INTERVAL_S: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
  const logs: LogLine[] = [];
  const waiting: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  const logger = createLogger({
    level: config.LOG_LEVEL,
    destination: {
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        for (const w of waiting.filter((w) => w.match(line))) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(line);
        }
      },
    },
  });
  const service = createService(config, logger, { cwd: REPO_ROOT, now: () => PINNED_NOW, retryMs: { initial: 50, max: 200 } });
  const { port } = await service.start();
  return {
    service,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    logged: (match) => {
      const seen = logs.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiting.push({ match, resolve }));
    },
    close: async () => {
      await service.stop('test');
    },
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Closed-loop clients POSTing `body` to /predict until stop(); every answer is kept, so a test can say
 * not only that none failed but that each was the expected one.
 */
export function clientLoop(
  port: number,
  connections: number,
  body: unknown,
  maxMs = 120_000,
): { count(): number; stop(): Promise<{ answers: Answer[]; errors: string[] }> } {
  const answers: Answer[] = [];
  const errors: string[] = [];
  const loop = closedLoop(
    port,
    connections,
    JSON.stringify(body),
    {
      answer(status, text) {
        try {
          answers.push({ status, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          errors.push(`${status} unparsable ${text.slice(0, 100)}`);
        }
      },
      error: (what) => errors.push(what),
    },
    maxMs,
  );
  return {
    count: () => answers.length + errors.length,
    async stop() {
      await loop.stop();
      return { answers, errors };
    },
  };
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
