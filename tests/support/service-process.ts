import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { freePort, waitFor } from './ports.js';
import { childEnv } from './child-env.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export type LogLine = Record<string, unknown> & { msg: string };

/** A server process whose JSON log lines are collected, for tests that wait on what it logs. */
export interface SpawnedServer {
  child: ChildProcessWithoutNullStreams;
  /** Every log line written to stdout so far, parsed. */
  logs: LogLine[];
  /** Called with each log line as it arrives. */
  onLine(listener: (line: LogLine) => void): void;
  stderr(): string;
  exited: Promise<number | null>;
  /** The first log line (already written or still to come) that matches; rejects if the process exits first. */
  waitForLine(match: (line: LogLine) => boolean, what: string): Promise<LogLine>;
}

/**
 * Spawns src/server.ts (the real composition root; or another runner, `script`, such as src/stream.ts)
 * on 127.0.0.1, port 0 unless `env` says otherwise, with only PATH and TMPDIR inherited (child-env.ts), and parses its stdout as
 * pino's JSON lines.
 */
export function spawnServer(
  env: Record<string, string> = {},
  script = 'src/server.ts',
  options: { ownProcessGroup?: boolean } = {},
): SpawnedServer {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: { ...childEnv(), HOST: '127.0.0.1', PORT: '0', ...env },
    // why: a group of its own, so a test can signal the whole group as systemd and dumb-init do.
    detached: options.ownProcessGroup === true,
  });
  const logs: LogLine[] = [];
  const listeners: ((line: LogLine) => void)[] = [];
  let buffered = '';
  let errText = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as LogLine;
      buffered = buffered.slice(nl + 1);
      logs.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (errText += chunk.toString()));
  // why: 'close' comes after the pipes are drained; on 'exit' the last log lines may still be unread.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitForLine = (match: (line: LogLine) => boolean, what: string) =>
    new Promise<LogLine>((resolve, reject) => {
      const seen = logs.find(match);
      if (seen) return resolve(seen);
      listeners.push((line) => match(line) && resolve(line));
      void exited.then((code) => reject(new Error(`server exited (${code}) before logging ${what}: ${errText}`)));
    });
  return { child, logs, onLine: (listener) => listeners.push(listener), stderr: () => errText, exited, waitForLine };
}

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
    env: { ...childEnv(), HOST: '127.0.0.1', PORT: String(listenPort), LOG_LEVEL: 'warn', ...env },
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
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode}): ${errText}`);
      const res = await fetch(`http://127.0.0.1:${listenPort}/readyz`);
      return res.status === 200 ? true : undefined;
    },
    `the service on port ${listenPort} to be ready`,
    60_000,
  );
  return handle;
}

/** Kills every process group still running; for afterAll/afterEach. */
export async function killAll(services: Iterable<ServiceProcess>): Promise<void> {
  await Promise.all([...services].map((s) => s.kill9()));
}

/** One request on its own connection (agent: false: a cluster spreads such requests over its workers). */
export function sendOnce(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
