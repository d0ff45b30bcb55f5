import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Target {
  name: string;
  description: string;
  /** Whether it serves the service's batch form ({"trips": [...]}) and /readyz. */
  isService: boolean;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** A reason to skip it on this machine, or undefined when it can run. */
  unavailable(): string | undefined;
}

const repoRoot = path.resolve(import.meta.dirname, '../..');
const peerDir = path.resolve(repoRoot, '../shared/peers/zoomcamp-flask');

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Micro-batching settings of the `+ micro-batching` targets. */
const MICRO_BATCHING = { MICROBATCH_MAX_SIZE: '64', MICROBATCH_MAX_DELAY_US: '0' };

/**
 * `npm start`'s node arguments (V8 flags, then the entry point): the bench runs the service as users
 * do. The script is `exec node …` (the shell hands its process to node, so npm's signal reaches it).
 */
export function npmStartNodeArgs(): string[] {
  const start: string = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).scripts.start;
  const [command, ...args] = start.replace(/^exec /, '').split(' ');
  if (command !== 'node') throw new Error(`npm start runs ${command}, expected node`);
  return args;
}

function serviceTarget(workers: number, microBatching = false): Target {
  return {
    name: `service (WORKERS=${workers}${microBatching ? ', micro-batching' : ''})`,
    description:
      `this service, node ${npmStartNodeArgs().join(' ')} (npm start), ${workers} worker(s), LOG_LEVEL=info` +
      (microBatching ? `, MICROBATCH_MAX_SIZE=${MICRO_BATCHING.MICROBATCH_MAX_SIZE} MICROBATCH_MAX_DELAY_US=${MICRO_BATCHING.MICROBATCH_MAX_DELAY_US}` : ', default settings'),
    isService: true,
    command: process.execPath,
    args: npmStartNodeArgs(),
    env: { WORKERS: String(workers), HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0', ...(microBatching ? MICRO_BATCHING : {}) },
    unavailable: () => (existsSync(path.join(repoRoot, 'dist/server.js')) ? undefined : 'dist/server.js missing: run npm run build'),
  };
}

export const TARGETS: Target[] = [
  serviceTarget(1),
  serviceTarget(1, true),
  serviceTarget(2),
  serviceTarget(2, true),
  {
    name: 'bare Express 5',
    description: 'express() + express.json() + res.json(constant), default settings: the framework limit',
    isService: false,
    command: process.execPath,
    args: ['bench/baselines/bare-express.mjs'],
    unavailable: () => undefined,
  },
  {
    name: 'bare node:http',
    description: 'node:http parsing the same body and answering a constant: the machine limit',
    isService: false,
    command: process.execPath,
    args: ['bench/baselines/bare-node-http.mjs'],
    unavailable: () => undefined,
  },
  {
    name: 'zoomcamp Flask (2 workers)',
    description: "the course's Flask + gunicorn service, 2 sync workers, DictVectorizer + LinearRegression",
    isService: false,
    command: 'gunicorn',
    args: ['-w', '2', '--chdir', peerDir, 'predict:app'],
    unavailable: () => {
      if (!existsSync(peerDir)) return `${peerDir} not found`;
      if (!hasCommand('gunicorn')) return 'gunicorn missing (apt-get install -y gunicorn python3-flask python3-sklearn)';
      try {
        execFileSync('/usr/bin/python3', ['-c', 'import flask, sklearn'], { stdio: 'ignore' });
      } catch {
        return 'python3-flask or python3-sklearn missing (apt-get install -y python3-flask python3-sklearn)';
      }
      return undefined;
    },
  },
];

export function startTarget(target: Target, port: number): ChildProcess {
  const args = target.command === 'gunicorn' ? [...target.args, '--bind', `127.0.0.1:${port}`] : target.args;
  return spawn(target.command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...target.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Polls until the target answers: /readyz for the service, a prediction for the others. Returns ms since spawn. */
export async function waitUntilReady(target: Target, port: number, spawnedAt: number, body: string): Promise<number> {
  const deadline = spawnedAt + 30_000;
  while (performance.now() < deadline) {
    try {
      const res = target.isService
        ? await fetch(`http://127.0.0.1:${port}/readyz`)
        : await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - spawnedAt;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${target.name} was not ready within 30 s`);
}

export async function stopTarget(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
