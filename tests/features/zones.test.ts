import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { loadZoneTable, parseZoneTable } from '../../src/features/zones.js';

const repo = resolve(import.meta.dirname, '../..');
const jfk = { id: 132, borough: 'Queens', zone: 'JFK Airport', service_zone: 'Airports', lon: -73.78, lat: 40.64 };

describe('zone table (zones.json)', () => {
  test('When the production version is read, then it lists zones 1–265 with centroids except the two Unknown zones', async () => {
    const zones = await loadZoneTable(join(repo, 'models', 'taxi-ride-duration', '4'));

    expect(zones?.map((z) => z.id)).toEqual(Array.from({ length: 265 }, (_, i) => i + 1));
    expect(zones?.[131]).toMatchObject({
      id: 132,
      borough: 'Queens',
      zone: 'JFK Airport',
      service_zone: 'Airports',
      lon: expect.closeTo(-73.787, 3),
      lat: expect.closeTo(40.647, 3),
    });
    expect(zones?.filter((z) => z.lon === null).map((z) => z.id)).toEqual([264, 265]);
  });

  test('When a version has no zones.json, then the reader answers undefined', async () => {
    expect(await loadZoneTable(join(repo, 'models', 'taxi-ride-duration', '3'))).toBeUndefined();
  });

  test.each([
    [[{ ...jfk, lat: 'north' }], /zones\.json: 0\.lat/],
    [[jfk, jfk], /zone ids must be unique/],
    [{ zones: [] }, /zones\.json: .*array/],
  ])('When the table is bad (%j), then the error names the entry and field', (json, message) => {
    expect(() => parseZoneTable(json)).toThrow(message);
  });

  test('When zones.json is not JSON, then the error names the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zones-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'zones.json'), '{');

    await expect(loadZoneTable(dir)).rejects.toThrow(/zones\.json: not JSON/);
  });
});
