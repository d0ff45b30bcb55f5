import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requireSharedData } from '../support/shared-data.js';
import { aTrip, syntheticTrips, writeTripParquet } from '../support/trip-fixtures.js';

const repo = resolve(import.meta.dirname, '../..');
const tsx = join(repo, 'node_modules', '.bin', 'tsx');
const work = mkdtempSync(join(tmpdir(), 'train-cli-'));
const trainFile = join(work, 'yellow_tripdata_2021-01.parquet');
const validationFile = join(work, 'yellow_tripdata_2021-02.parquet');

async function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(tsx, ['src/training/cli.ts', ...args], {
      cwd: repo,
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every file under the registry with its bytes, to prove a failed run changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[join(entry.parentPath, entry.name)] = readFileSync(join(entry.parentPath, entry.name), 'base64');
  }
  return out;
}

let server: Server;
let baseUrl: string;
let closedPortUrl: string;

beforeAll(async () => {
  requireSharedData(['taxi_zone_centroids.csv']);
  writeTripParquet(trainFile, syntheticTrips(2000, 21, 0), 'yellow');
  writeTripParquet(validationFile, syntheticTrips(800, 22, 1), 'yellow');
  server = createServer((req, res) => {
    if (req.url === '/trips.parquet') res.end(readFileSync(validationFile));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  closedPortUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/trips.parquet`;
  await new Promise((r) => closed.close(r));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

describe('training CLI', () => {
  test('When trained from a local file and a URL, then a new version is registered with its training record', async () => {
    const registry = join(work, 'ok-registry');

    const first = await train([
      '--train',
      trainFile,
      '--validation',
      `${baseUrl}/trips.parquet`,
      '--registry',
      `file:${registry}`,
      '--alias',
      'production',
      '--features',
      'base',
    ]);
    const second = await train(['--train', trainFile, '--validation', validationFile, '--registry', `file:${registry}`]);

    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('registered taxi-ride-duration version 1');
    expect(first.stderr).toMatch(/fit \(\d+\.\d+ s\)/);
    expect(second.stdout).toContain('registered taxi-ride-duration version 2');
    expect(JSON.parse(readFileSync(join(registry, 'taxi-ride-duration', 'aliases.json'), 'utf8'))).toEqual({ production: '1' });
    const record = JSON.parse(readFileSync(join(registry, 'taxi-ride-duration', '1', 'training.json'), 'utf8'));
    expect(record).toMatchObject({
      feature_set: 'base',
      seed: 42,
      data: {
        train: { file: 'yellow_tripdata_2021-01.parquet', rows_read: 2000, rows_kept: 2000 },
        validation: { source: `${baseUrl}/trips.parquet`, rows_read: 800 },
      },
      parity: { rows: 800 },
    });
    expect(record.data.train.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.parity.max_abs_diff_minutes).toBeLessThanOrEqual(1e-3);
    expect(Object.keys(record.reference_histograms)).toEqual(['data', 'PULocationID', 'DOLocationID', 'trip_distance', 'duration']);
  }, 120_000);

  describe('When the input is bad, then it fails with one clear line and leaves the registry as it was', () => {
    const registry = join(work, 'kept-registry');
    const textFile = join(work, 'notes.parquet');
    const noZones = join(work, 'no-zones.parquet');
    const tooShort = join(work, 'too-short.parquet');

    beforeAll(() => {
      cpSync(join(repo, 'models'), registry, { recursive: true });
      writeFileSync(textFile, 'VendorID,lpep_pickup_datetime\n1,2021-01-01\n');
      writeTripParquet(noZones, syntheticTrips(50, 3), 'no-zones');
      writeTripParquet(tooShort, [aTrip({ minutes: 0.5 }), aTrip({ minutes: 75 })]);
    });

    test.each([
      ['a missing file', () => join(work, 'missing.parquet'), /cannot read .*missing\.parquet: no such file/],
      ['a file that is not parquet', () => textFile, /notes\.parquet is not a parquet file/],
      ['a parquet without the trip columns', () => noZones, /no-zones\.parquet lacks the trip columns PULocationID, DOLocationID/],
      ['a file with nothing left after filtering', () => tooShort, /no trips left after filtering \(2 rows read\)/],
      ['an unreachable URL', () => closedPortUrl, /cannot download http:\/\/127\.0\.0\.1:\d+\/trips\.parquet: ECONNREFUSED/],
      ['a URL that answers 404', () => `${baseUrl}/missing.parquet`, /cannot download .*: HTTP 404/],
    ])('%s', async (_, input, message) => {
      const before = snapshot(registry);

      const result = await train([
        '--train',
        trainFile,
        '--validation',
        input(),
        '--registry',
        `file:${registry}`,
        '--alias',
        'production',
      ]);

      expect(result.code).not.toBe(0);
      const errorLines = result.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(errorLines).toHaveLength(1);
      expect(errorLines[0]).toMatch(message);
      expect(result.stdout).toBe('');
      expect(snapshot(registry)).toEqual(before);
    });

    test('When arguments are missing or wrong, then it prints one error line and exits non-zero', async () => {
      const result = await train(['--train', trainFile, '--features', 'weather']);

      expect(result.code).not.toBe(0);
      expect(result.stderr.trim()).toMatch(/^error: --train and --validation are required/);
    });

    test('When --preset names no preset, then it says which exist and registers nothing', async () => {
      const before = snapshot(registry);

      const result = await train([
        '--train',
        trainFile,
        '--validation',
        trainFile,
        '--registry',
        `file:${registry}`,
        '--preset',
        'fastest',
      ]);

      expect(result.code).not.toBe(0);
      expect(result.stderr.trim()).toMatch(/^error: --preset must be serving or accurate, not fastest/);
      expect(snapshot(registry)).toEqual(before);
    });
  });
});
