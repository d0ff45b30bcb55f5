import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, waitFor } from './ports.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface ServiceProcess {
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
  /** SIGTERM to the main process (as Kubernetes or docker stop send it) and its exit code. */
  terminate(): Promise<number | null>;
  /** SIGKILL to the whole process group (the main process and any cluster workers), as a crashed container. */
  kill9(): Promise<void>;
}

/**
 * Starts src/server.ts as its own process on 127.0.0.1 (`port` fixed so a restart comes back on the
 * same one) and waits until /readyz answers 200. Logs at warn to keep the pipes quiet.
 */
export async function startService(env: Record<string, string> = {}, port?: number): Promise<ServiceProcess> {
  const listenPort = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(listenPort), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let errText = '';
  child.stderr?.on('data', (c: Buffer) => (errText = (errText + c.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: ServiceProcess = {
    port: listenPort,
    child,
    exited,
    stderr: () => errText,
    async terminate() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode}): ${errText}`);
    const res = await fetch(`http://127.0.0.1:${listenPort}/readyz`);
    return res.status === 200 ? true : undefined;
  }, `the service on port ${listenPort} to be ready`, 60_000);
  return handle;
}

/** Kills every process group still running; for afterAll/afterEach. */
export async function killAll(services: Iterable<ServiceProcess>): Promise<void> {
  await Promise.all([...services].map((s) => s.kill9()));
}
