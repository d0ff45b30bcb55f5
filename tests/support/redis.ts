import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findSystemTool } from './system-tools.js';
import { freePort, waitFor } from './ports.js';

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** A new client connection (closed by stop()). */
  client(): Redis;
  /** SIGKILL, then start again on the same port and directory (the append-only file brings the data back when on). */
  restart(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server gracefully (SIGTERM) and keeps its directory, for resume() on the same port. */
  pause(): Promise<void>;
  /** Starts it again after pause(), on the same port and directory. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export type RedisHandle = RedisServer;

/** The redis-server binary, or undefined (the test is skipped) outside CI; .ci/run installs it. */
export const REDIS_SERVER = findSystemTool('redis-server');

/**
 * A real redis-server on a free port of 127.0.0.1 with its own temporary directory, no RDB snapshots;
 * `durable` turns on the append-only file with an fsync per write, so a restart (even after SIGKILL)
 * keeps every acknowledged write.
 */
export async function startRedis(options: { durable?: boolean; port?: number } = {}): Promise<RedisServer> {
  if (REDIS_SERVER === undefined) throw new Error('redis-server is not installed (apt-get install redis-server; .ci/run installs it)');
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes'];
  if (options.durable) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  const clients: Redis[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();

  const start = async () => {
    const proc = spawn(REDIS_SERVER!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
    proc.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
    exited = new Promise((r) => proc.once('exit', r));
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${out}`);
        return /Ready to accept connections/.test(out) ? true : undefined;
      },
      `redis-server on port ${port}`,
      30_000,
    );
  };
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    client() {
      const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 100, 1000) });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async restart() {
      await kill();
      await start();
    },
    kill,
    start,
    async pause() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
    resume: start,
    async stop() {
      for (const c of clients) c.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
