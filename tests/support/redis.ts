import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { freePort, stopAndClean, waitFor } from './ports.js';
import { findSystemTool } from './system-tools.js';

export interface RedisHandle {
  port: number;
  url: string;
  /** Stops the server (SIGTERM) and keeps its directory, for a restart on the same port. */
  pause(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A real redis-server on 127.0.0.1 (a free port, a temporary directory, no persistence). */
export async function startRedis(): Promise<RedisHandle> {
  const bin = findSystemTool('redis-server');
  if (bin === undefined) throw new Error('redis-server is not installed (apt-get install redis-server; .ci/run installs it)');
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = net.connect(port, '127.0.0.1');
          socket.once('connect', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(undefined));
        }),
      'redis-server to accept connections',
    );
  };
  await launch();
  const kill = async () => {
    const c = child!;
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: kill,
    resume: launch,
    stop: () => stopAndClean(child!, dir),
  };
}
