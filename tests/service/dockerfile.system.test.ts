/**
 * No Docker engine runs here, so this test replays the Dockerfile itself: each stage gets a directory,
 * COPY/RUN/WORKDIR/ENV are executed in order on a clean copy of the repository (tracked files minus
 * .dockerignore), then the runtime stage's CMD is started and its HEALTHCHECK command is run.
 */
import { execFileSync, execSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../support/app.js';

interface Instruction {
  op: string;
  flags: Record<string, string>;
  args: string[];
  json: string[] | undefined;
  raw: string;
}

function parseDockerfile(text: string): { name: string; steps: Instruction[] }[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: { name: string; steps: Instruction[] }[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const rawArgs = line.slice(op.length).trim();
    const flags: Record<string, string> = {};
    const args = rest.filter((a) => {
      const m = /^--([\w-]+)=(.*)$/.exec(a);
      if (m) flags[m[1]] = m[2];
      return !m;
    });
    const jsonStart = rawArgs.indexOf('[');
    const json = jsonStart >= 0 && rawArgs.endsWith(']') ? (JSON.parse(rawArgs.slice(jsonStart)) as string[]) : undefined;
    const step = { op: op.toUpperCase(), flags, args, json, raw: rawArgs };
    if (step.op === 'FROM') stages.push({ name: args[2] ?? String(stages.length), steps: [] });
    stages.at(-1)!.steps.push(step);
  }
  return stages;
}

function ignored(path: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    if (p.startsWith('*')) return basename(path).endsWith(p.slice(1));
    if (p.endsWith('*')) return path.startsWith(p.slice(0, -1));
    return path === p || path.startsWith(`${p}/`);
  });
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const work = mkdtempSync(join(tmpdir(), 'dockerfile-replay-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Dockerfile', () => {
  test('When its steps run on a clean copy of the repo, then the runtime stage serves a prediction, passes its HEALTHCHECK and stops on SIGTERM', async () => {
    const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const context = join(work, 'context');
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const file of tracked.filter((f) => !ignored(f, patterns) && existsSync(join(REPO_ROOT, f)))) {
      mkdirSync(dirname(join(context, file)), { recursive: true });
      cpSync(join(REPO_ROOT, file), join(context, file));
    }
    expect(existsSync(join(context, 'models/taxi-ride-duration/aliases.json'))).toBe(true);

    const roots = new Map<string, string>();
    let cmd: string[] = [];
    let healthcheck: string[] = [];
    let user = 'root';
    let env: Record<string, string> = {};
    let workdir = '/';
    for (const stage of stages) {
      const root = join(work, `stage-${stage.name}`);
      roots.set(stage.name, root);
      env = {};
      workdir = '/';
      const inStage = (p: string) => join(root, p.startsWith('/') ? p : join(workdir, p));
      for (const step of stage.steps) {
        switch (step.op) {
          case 'FROM':
            expect(step.args[0]).toBe('node:20-slim');
            break;
          case 'WORKDIR':
            workdir = step.args[0];
            mkdirSync(inStage('.'), { recursive: true });
            break;
          case 'ENV':
            for (const pair of step.args) env[pair.split('=')[0]] = pair.split('=').slice(1).join('=');
            break;
          case 'COPY': {
            const from = step.flags.from ? roots.get(step.flags.from)! : context;
            const sources = step.args.slice(0, -1);
            const dest = step.args.at(-1)!;
            for (const src of sources) {
              const source = join(from, src);
              const target = dest.endsWith('/') ? join(inStage(dest), basename(src)) : inStage(dest);
              mkdirSync(dirname(target), { recursive: true });
              cpSync(source, target, { recursive: statSync(source).isDirectory() });
            }
            break;
          }
          case 'RUN':
            execSync(step.raw, { cwd: inStage('.'), env: { ...process.env, ...env, CI: 'true' }, stdio: 'pipe' });
            break;
          case 'USER':
            user = step.args[0];
            break;
          case 'HEALTHCHECK':
            healthcheck = step.json!;
            break;
          case 'CMD':
            cmd = step.json!;
            break;
          case 'EXPOSE':
            break;
          default:
            throw new Error(`the replay does not know ${step.op}; extend this test`);
        }
      }
    }
    const app = join(roots.get('runtime')!, workdir);

    expect(user).not.toBe('root');
    // why: the image and `npm start` must run the service the same way (V8 flags included).
    expect(cmd).toEqual(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.start.split(' '));
    expect(existsSync(join(app, 'node_modules/onnxruntime-node'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'src'))).toBe(false);

    const port = await freePort();
    const runEnv = { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port), SHUTDOWN_DRAIN_MS: '0' };
    const child = spawn(cmd[0] === 'node' ? process.execPath : cmd[0], cmd.slice(1), { cwd: app, env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      for (let i = 0; i < 100 && !out.includes('"msg":"model loaded and warmed up; ready"'); i++) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).toContain('"msg":"model loaded and warmed up; ready"');

      const res = await fetch(`http://127.0.0.1:${port}/predict`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 }),
      });
      const health = execFileSync(process.execPath, healthcheck.slice(1), { env: runEnv, stdio: 'pipe' });

      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ duration: expect.any(Number), model_version: expect.stringMatching(/^taxi-ride-duration\//), ride_id: expect.any(String) });
      expect(healthcheck[0]).toBe('node');
      expect(health.toString()).toBe('');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 300_000);
});
