import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { oipFrontEnd } from '../../src/http/routes/oip.js';
import { ModelSlot } from '../../src/model/model-slot.js';
import { createPredictor, type Predictor } from '../../src/model/predictor.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { loadTestModel } from '../support/app.js';
import { FIXED_NOW, ZONES_REGISTRY } from '../support/apps-service.js';

async function predictorOf(uri: string): Promise<Predictor> {
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  const slot = new ModelSlot();
  await slot.swap(await loadTestModel(uri, ZONES_REGISTRY, metrics));
  return createPredictor({ slot, metrics });
}

describe('the OIP version hook a challenger model plugs into', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const [served, challenger] = await Promise.all([
      predictorOf('models:/taxi-ride-duration@production'),
      predictorOf('models:/taxi-ride-duration@no-zones'),
    ]);
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const oip = oipFrontEnd({
      predictor: served,
      lifecycle: { draining: false },
      maxBatch: 100,
      now: () => FIXED_NOW,
      predictorFor: (version) => (version === '1' ? challenger : undefined),
    });
    const app = createApp({
      config,
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics(undefined, { defaultMetrics: false }),
      predictor: served,
      lifecycle: { draining: false },
      frontEnds: [oip],
    });
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const infer = (path: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'PULocationID', shape: [1], datatype: 'INT64', data: [130] },
          { name: 'DOLocationID', shape: [1], datatype: 'INT64', data: [205] },
          { name: 'trip_distance', shape: [1], datatype: 'FP32', data: [3.66] },
        ],
      }),
    });

  test('When the challenger version is named, then it answers with its own version; an unknown version is still 404', async () => {
    const challenger = (await (await infer('/v2/models/taxi-ride-duration/versions/1/infer')).json()) as {
      model_version: string;
      outputs: { name: string }[];
    };
    expect(challenger.model_version).toBe('1');
    expect(challenger.outputs.map((o) => o.name)).toEqual(['duration']);
    const served = (await (await infer('/v2/models/taxi-ride-duration/infer')).json()) as { model_version: string };
    expect(served.model_version).toBe('2');
    const unknown = await infer('/v2/models/taxi-ride-duration/versions/3/infer');
    expect(unknown.status).toBe(404);
    expect((await fetch(`${base}/v2/models/taxi-ride-duration/versions/1`)).status).toBe(200);
  });
});
