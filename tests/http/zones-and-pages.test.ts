import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { PAGE_CSP } from '../../src/http/static-files.js';
import { startAppsService, type AppsService } from '../support/apps-service.js';
import { openApiChecker } from '../support/openapi.js';

describe('GET /zones, the pages and the OpenAPI document', () => {
  let app: AppsService;
  let withoutZones: AppsService;
  const { fetchChecked } = openApiChecker();

  beforeAll(async () => {
    [app, withoutZones] = await Promise.all([
      startAppsService(),
      startAppsService({ MODEL_URI: 'models:/taxi-ride-duration@no-zones', DEMO_PAGE: 'false' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([app.close(), withoutZones.close()]);
  });

  test('When the served version ships zones.json, then /zones lists its zones with an ETag, and If-None-Match answers 304', async () => {
    const reply = await fetchChecked(`${app.base}/zones`);
    expect(reply.status).toBe(200);
    const zones = reply.json();
    expect(zones).toHaveLength(15);
    expect(zones.find((z: { id: number }) => z.id === 132)).toEqual({
      id: 132,
      borough: 'Queens',
      zone: 'JFK Airport',
      service_zone: 'Airports',
      lon: -73.78653,
      lat: 40.64698,
    });
    expect(zones.find((z: { id: number }) => z.id === 264)).toMatchObject({ lon: null, lat: null });
    expect(reply.headers.get('cache-control')).toBe('public, max-age=300');
    expect(reply.headers.get('x-model-version')).toBe('taxi-ride-duration/2');
    const etag = reply.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await fetchChecked(`${app.base}/zones`, { headers: { 'if-none-match': `W/${etag}, "other"` } });
    expect([again.status, again.text]).toEqual([304, '']);
  });

  test('When the served version has no zone table, then /zones is 404 problem+json saying so, and DEMO_PAGE=false removes /', async () => {
    const reply = await fetchChecked(`${withoutZones.base}/zones`);
    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(reply.json().detail).toBe('model taxi-ride-duration/1 has no zone table (zones.json); model versions from 4 on ship one');
    expect((await fetch(`${withoutZones.base}/`)).status).toBe(404);
    expect((await fetch(`${withoutZones.base}/docs`)).status).toBe(200);
  });

  test('When the pages are fetched, then each file comes with a CSP that allows only this origin', async () => {
    for (const path of ['/', '/demo.js', '/demo.css', '/docs', '/docs/docs.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']) {
      const res = await fetch(`${app.base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy'), path).toBe(PAGE_CSP);
      expect((await res.text()).length, path).toBeGreaterThan(10);
    }
    expect(PAGE_CSP).not.toMatch(/https?:|unsafe-inline|unsafe-eval|\*/);
    const html = await (await fetch(`${app.base}/`)).text();
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('When /openapi.json is validated as OpenAPI 3.1, then it is valid and documents every route the service mounts', async () => {
    const doc = (await (await fetch(`${app.base}/openapi.json`)).json()) as Record<string, any>;
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/',
        '/admin/reload',
        '/docs',
        '/experiment',
        '/feedback',
        '/health',
        '/healthz',
        '/invocations',
        '/metrics',
        '/model',
        '/monitoring',
        '/openapi.json',
        '/ping',
        '/predict',
        '/readyz',
        '/v2',
        '/v2/health/live',
        '/v2/health/ready',
        '/v2/models/{model}',
        '/v2/models/{model}/infer',
        '/v2/models/{model}/ready',
        '/v2/models/{model}/versions/{version}',
        '/v2/models/{model}/versions/{version}/infer',
        '/v2/models/{model}/versions/{version}/ready',
        '/zones',
      ].sort(),
    );
    // every request schema carries an example a client can copy
    for (const id of ['Trip', 'PredictBatch', 'OipInferenceRequest', 'InvocationsRequest'])
      expect(doc.components.schemas[id].examples?.length, id).toBeGreaterThan(0);
  });

  test('When the probes, model metadata and /predict answer, then their bodies conform to the document too', async () => {
    for (const path of ['/healthz', '/readyz', '/model', '/v2', '/v2/health/live'])
      expect((await fetchChecked(`${app.base}${path}`)).status).toBe(200);
    const post = (body: unknown) =>
      fetchChecked(`${app.base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ PULocationID: 1, DOLocationID: 2, trip_distance: 3, ride_id: 'r1' })).status).toBe(200);
    expect((await post({ trips: [{ PULocationID: 1, DOLocationID: 2, trip_distance: 3 }] })).status).toBe(200);
    expect((await post({ PULocationID: 0, DOLocationID: 2, trip_distance: -3 })).status).toBe(422);
  });
});
