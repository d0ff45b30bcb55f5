/**
 * No Docker engine runs here, so this test replays the Dockerfile itself: each stage gets a directory,
 * COPY/RUN/WORKDIR/ENV are executed in order on a clean copy of the repository (tracked files minus
 * .dockerignore), then the runtime stage's CMD is started and its HEALTHCHECK command is run, and
 * `npm start` in it is stopped with one signal.
 */
import { execFileSync, execSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { npmStartNodeArgs } from '../../bench/lib/targets.js';
import { EXTERNAL } from '../../scripts/bundle.js';
import { REPO_ROOT } from '../support/app.js';
import { freePort } from '../support/ports.js';
import { REDIS_SERVER, startRedis } from '../support/redis.js';
import { childEnv } from '../support/child-env.js';

interface Instruction {
  op: string;
  flags: Record<string, string>;
  args: string[];
  json: string[] | undefined;
  raw: string;
}

function parseDockerfile(text: string): { name: string; steps: Instruction[] }[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
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

const work = mkdtempSync(join(tmpdir(), 'dockerfile-replay-'));
// why: every npm command of the replay (npm ci, the image's `npm cache clean --force`, npm start) uses
// this cache, never the user's ~/.npm.
const npmCache = join(work, 'npm-cache');
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Replayed {
  /** The runtime stage's working directory. */
  app: string;
  cmd: string[];
  healthcheck: string[];
  user: string;
  env: Record<string, string>;
}

function replay(): Replayed {
  const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
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
          execSync(step.raw, { cwd: inStage('.'), env: { ...process.env, ...env, CI: 'true', npm_config_cache: npmCache }, stdio: 'pipe' });
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
  return { app: join(roots.get('runtime')!, workdir), cmd, healthcheck, user, env };
}

/** Resolves when `text()` contains `needle`, or rejects when the process exits first. */
function outputContains(child: ChildProcess, text: () => string, needle: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => text().includes(needle) && resolve();
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before printing ${needle}: ${text()}`)));
    check();
  });
}

/** The process and every descendant still alive, from /proc. */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree.filter((pid) => parents.has(pid));
}

/** The packages, other than node's own modules, that the bundle's outputs load at run time (esbuild's metafile). */
function packagesImportedBy(dist: string): Set<string> {
  const meta = JSON.parse(readFileSync(join(dist, 'bundle-meta.json'), 'utf8')) as Metafile;
  const imports = Object.values(meta.outputs).flatMap((output) => output.imports);
  return new Set(imports.filter((i) => i.external && !isBuiltin(i.path)).map((i) => i.path.split('/')[0]));
}

const READY = '"msg":"model loaded and warmed up; ready"';
const TRIP = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 });

describe('Dockerfile', () => {
  let image: Replayed;
  beforeAll(() => {
    image = replay();
  }, 300_000);

  test('When its steps run on a clean copy of the repo, then the runtime stage runs the score command, serves a prediction and the pages, passes its HEALTHCHECK and stops on SIGTERM', async () => {
    const { app, cmd, healthcheck, user, env } = image;
    // Batch scoring ships in the same image and runs on production dependencies only.
    const score = execFileSync(process.execPath, ['dist/score.js', '--help'], {
      cwd: app,
      env: { ...childEnv(), ...env },
      encoding: 'utf8',
    });
    expect(score).toContain('usage: npm run score -- --data');
    expect(existsSync(join(app, 'node_modules/hyparquet-writer'))).toBe(true);
    expect(user).not.toBe('root');
    // why: the image and `npm start` must run the service the same way (V8 flags included).
    expect(cmd).toEqual(['node', ...npmStartNodeArgs()]);
    expect(existsSync(join(app, 'node_modules/onnxruntime-node'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'src'))).toBe(false);
    // The runners are bundles (scripts/bundle.ts): besides node's modules and their own chunks they
    // import only the packages kept out of the bundle, so a start reads a few files, not hundreds.
    expect(packagesImportedBy(join(app, 'dist'))).toEqual(new Set(EXTERNAL));

    const port = await freePort();
    const runEnv = { ...childEnv(), ...env, HOST: '127.0.0.1', PORT: String(port), SHUTDOWN_DRAIN_MS: '0' };
    const child = spawn(cmd[0] === 'node' ? process.execPath : cmd[0], cmd.slice(1), {
      cwd: app,
      env: runEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await outputContains(child, () => out, READY);

      const res = await fetch(`http://127.0.0.1:${port}/predict`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: TRIP,
      });
      const health = execFileSync(process.execPath, healthcheck.slice(1), { env: runEnv, stdio: 'pipe' });

      expect(res.status).toBe(200);
      // why the interval fields: the production version (4 on) has the 80 % interval outputs (docs/model.md).
      expect(await res.json()).toEqual({
        duration: expect.any(Number),
        duration_p10: expect.any(Number),
        duration_p90: expect.any(Number),
        model_version: expect.stringMatching(/^taxi-ride-duration\//),
        ride_id: expect.any(String),
      });
      // the pages ship too: public/ is copied, and Swagger UI comes from a production dependency
      for (const path of ['/', '/demo.js', '/docs', '/docs/swagger-ui-bundle.js', '/zones']) {
        expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
      }
      expect(healthcheck[0]).toBe('node');
      expect(health.toString()).toBe('');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('When the stream consumer runs from the same image, then it refuses a bad REDIS_URL in one line, predicts a record and stops on SIGTERM', async () => {
    const runEnv = { ...childEnv(), ...image.env, HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0' };
    await expectStreamConsumerRuns(image.app, runEnv);
  });

  test('When `npm start` gets one SIGTERM (WORKERS=2), then npm exits 0, the port is closed and no process of it remains', async () => {
    const port = await freePort();
    const env = {
      ...childEnv(),
      HOME: work,
      npm_config_cache: npmCache,
      HOST: '127.0.0.1',
      PORT: String(port),
      WORKERS: '2',
      SHUTDOWN_DRAIN_MS: '0',
    };
    const npm = spawn('npm', ['start'], { cwd: image.app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // why: 'exit', not 'close': an orphaned server would hold the pipes open and 'close' never come.
    const exited = new Promise<number | null>((r) => npm.on('exit', r));
    let out = '';
    npm.stdout.on('data', (c: Buffer) => (out += c.toString()));
    npm.stderr.on('data', (c: Buffer) => (out += c.toString()));
    let tree: number[] = [];
    try {
      await outputContains(npm, () => out, '"msg":"all workers ready"');
      tree = processTree(npm.pid!);
      expect(tree.length).toBeGreaterThanOrEqual(4); // npm, the primary, two workers

      npm.kill('SIGTERM');

      expect(await exited).toBe(0);
      expect(processTree(npm.pid!)).toEqual([]);
      expect(tree.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
      expect(await fetch(`http://127.0.0.1:${port}/healthz`).catch((err: Error & { cause?: { code?: string } }) => err.cause?.code)).toBe(
        'ECONNREFUSED',
      );
    } finally {
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});

/** The stream consumer from the same image: `node dist/stream.js` refuses a bad REDIS_URL in one line, and against a real redis-server predicts a record and stops on SIGTERM. */
async function expectStreamConsumerRuns(app: string, runEnv: Record<string, string>): Promise<void> {
  const bad = spawn(process.execPath, ['dist/stream.js'], {
    cwd: app,
    env: { ...runEnv, REDIS_URL: 'not-a-url' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let badErr = '';
  bad.stderr.on('data', (c: Buffer) => (badErr += c.toString()));
  expect(await new Promise((r) => bad.on('exit', r))).toBe(1);
  expect(badErr.trim().split('\n')).toEqual([expect.stringMatching(/^invalid configuration: REDIS_URL="not-a-url": expected redis:\/\//)]);
  if (!REDIS_SERVER) return;

  const redisServer = await startRedis();
  const redis = redisServer.client();
  const consumer = spawn(process.execPath, ['dist/stream.js'], {
    cwd: app,
    env: { ...runEnv, REDIS_URL: redisServer.url, METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => consumer.on('exit', r));
  let out = '';
  consumer.stdout.on('data', (c: Buffer) => (out += c.toString()));
  consumer.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    for (let i = 0; i < 600 && !out.includes('"msg":"consuming"') && consumer.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('"msg":"consuming"');
    await redis.xadd(
      'ride_events',
      '*',
      'data',
      JSON.stringify({ ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 256 }),
    );
    let outputs: [string, string[]][] = [];
    for (let i = 0; i < 600 && outputs.length === 0; i++) {
      outputs = (await redis.xrange('ride_predictions', '-', '+')) as [string, string[]][];
      if (outputs.length === 0) await new Promise((r) => setTimeout(r, 100));
    }

    expect(outputs).toHaveLength(1);
    expect(outputs[0][1].slice(0, 2)).toEqual(['ride_id', '256']);
    expect(JSON.parse(outputs[0][1][3])).toMatchObject({ model: 'ride_duration_prediction_model', prediction: { ride_id: 256 } });
    consumer.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (consumer.exitCode === null) consumer.kill('SIGKILL');
    await redisServer.stop();
  }
}
