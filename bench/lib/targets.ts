import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

// why a kernel-given port: other people's servers share this machine; with a fixed port, a target that
// failed to bind would leave the bench measuring whoever holds the port.
export { freePort } from '../../tests/support/ports.js';

export interface Target {
  name: string;
  description: string;
  /** Whether it serves the service's batch form ({"trips": [...]}) and /readyz. */
  isService: boolean;
  /** Whether to run the 100,000-request memory soak on it. */
  soak?: boolean;
  /** Not part of a complete run: runs only when BENCH_TARGETS names it. */
  optional?: boolean;
  /** Measured in the closed-loop scenarios only (see the Flask peer's reason). */
  closedLoopOnly?: boolean;
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

/**
 * The service as `npm start` runs it. `batching` is only named when it differs from the default
 * (adaptive), so the default targets keep their names across runs and compare with earlier results.
 * `variant` adds settings and a name suffix, for A/B benches such as bench/experiment-cost.ts.
 */
export function serviceTarget(
  workers: number,
  options: { batching?: 'off' | 'delay'; soak: boolean; variant?: { label: string; env: Record<string, string> } },
): Target {
  const env: Record<string, string> = { WORKERS: String(workers), HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0', ...options.variant?.env };
  if (options.batching) env.BATCHING = options.batching;
  if (options.batching === 'delay') Object.assign(env, { MICROBATCH_MAX_SIZE: '64', MICROBATCH_MAX_DELAY_US: '0' });
  const settings = Object.entries(env)
    .filter(([k]) => k !== 'HOST' && k !== 'SHUTDOWN_DRAIN_MS' && k !== 'WORKERS')
    .map(([k, v]) => `${k}=${v}`);
  return {
    name: `service (WORKERS=${workers}${options.batching ? `, BATCHING=${options.batching}` : ''}${options.variant ? `, ${options.variant.label}` : ''})`,
    description: `this service, node ${npmStartNodeArgs().join(' ')} (npm start), ${workers} worker(s), ${settings.length > 0 ? settings.join(' ') : 'default settings (BATCHING=adaptive)'}`,
    isService: true,
    soak: options.soak,
    optional: options.batching === 'delay',
    command: process.execPath,
    args: npmStartNodeArgs(),
    env,
    unavailable: () => (existsSync(path.join(repoRoot, 'dist/server.js')) ? undefined : 'dist/server.js missing: run npm run build'),
  };
}

/** Every target of a complete run, in order; `optional` ones run only when BENCH_TARGETS names them. */
export const TARGETS: Target[] = [
  serviceTarget(1, { soak: true }),
  serviceTarget(1, { batching: 'off', soak: false }),
  serviceTarget(2, { soak: true }),
  serviceTarget(1, { batching: 'delay', soak: false }),
  // why: the cost of monitoring and of a shadow challenger is judged against the default service in the same run.
  serviceTarget(1, { soak: false, variant: { label: 'MONITORING=false', env: { MONITORING: 'false' } } }),
  serviceTarget(1, {
    soak: false,
    variant: { label: 'shadow challenger', env: { CHALLENGER_URI: 'models:/taxi-ride-duration/1', CHALLENGER_MODE: 'shadow' } },
  }),
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
    // why: its 2 sync workers cannot serve the open-loop client's pool of keep-alive sockets; every open-loop
    // step waited ≈ 40 s for requests that never got an answer (a third of a complete run) to give rows
    // that compare with nothing (docs/performance.md).
    closedLoopOnly: true,
    command: 'gunicorn',
    // why no worker timeout: the bench stops every other target while it measures one (pauseTrees), and
    // after such a pause gunicorn's arbiter would kill the workers that missed their 30 s heartbeat.
    args: ['-w', '2', '--timeout', '0', '--chdir', peerDir, 'predict:app'],
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

/**
 * Polls until the target answers: /readyz for the service, a prediction for the others. Returns ms since
 * spawn; throws when the process exits first (so an answer can only come from the target itself).
 */
export async function waitUntilReady(target: Target, child: ChildProcess, port: number, spawnedAt: number, body: string): Promise<number> {
  const deadline = spawnedAt + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${target.name} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
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
