import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setAlias } from '../../src/training/registry-writer.js';
import { waitFor } from '../support/ports.js';
import { clientLoop, copyRegistry, embedded, fixture, getJson, NAME, startService, type Answer, type RunningService } from './support.js';

const TRIP = { PULocationID: 74, DOLocationID: 75, trip_distance: 2.1 };
const CHAMPION = `${NAME}/3`;

describe('a service with a challenger beside the champion', () => {
  let registry: { root: string; modelDir: string };
  let baseline: number;
  const env = (extra: Record<string, string> = {}) => ({
    REGISTRY_URI: `file:${registry.root}`,
    MODEL_URI: `models:/${NAME}@production`,
    ...extra,
  });

  function expectChampionAnswers({ answers, errors }: { answers: Answer[]; errors: string[] }) {
    expect(errors).toEqual([]);
    expect(answers.length).toBeGreaterThan(0);
    const wrong = answers.filter((a) => a.status !== 200 || a.body.duration !== baseline || a.body.model_version !== CHAMPION);
    expect(wrong.slice(0, 3)).toEqual([]);
  }

  beforeAll(async () => {
    registry = await copyRegistry(
      { '1': embedded('1'), '3': embedded('3'), '7': fixture('3') },
      { production: '3', challenger: '1', broken: '7' },
    );
    const alone = await startService(env());
    try {
      const res = await fetch(`${alone.url}/predict`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(TRIP),
      });
      baseline = ((await res.json()) as { duration: number }).duration;
      expect(await getJson(`${alone.url}/experiment`)).toEqual({ status: 200, body: { mode: 'off' } });
    } finally {
      await alone.close();
    }
  });
  afterAll(async () => {
    await rm(registry.root, { recursive: true, force: true });
  });

  test.each([
    ['does not resolve', `models:/${NAME}@nonexistent`, 'resolve'],
    ['names a corrupt version', `models:/${NAME}@broken`, 'signature'],
  ])(
    "When the challenger URI %s, then the service is ready, answers exactly as the champion alone, and counts the failure as the challenger's",
    async (_what, uri, reason) => {
      const running = await startService(env({ CHALLENGER_URI: uri }));
      try {
        await running.logged((l) => l.arm === 'challenger' && l.msg.startsWith('challenger not loaded'));
        expect((await getJson(`${running.url}/readyz`)).status).toBe(200);

        expectChampionAnswers(await loadFor(running, 200));

        const metrics = await (await fetch(`${running.url}/metrics`)).text();
        expect(metrics).toContain(`challenger_model_load_failures_total{reason="${reason}"} 1`);
        expect(metrics).not.toMatch(/^model_load_failures_total\{/m);
        expect(metrics).toMatch(/challenger_predictions_total\{mode="shadow",model_version="none",outcome="not_loaded"\} [1-9]/);
        const experiment = await getJson(`${running.url}/experiment`);
        expect(experiment.body).toMatchObject({ mode: 'shadow', challenger_loaded: false, champion: { model_version: CHAMPION } });
      } finally {
        await running.close();
      }
    },
  );

  test("When a shadow challenger serves beside the champion, then answers are the champion's and the challenger's predictions are measured and reported", async () => {
    const running = await startService(env({ CHALLENGER_URI: `models:/${NAME}@challenger` }));
    try {
      await running.logged((l) => l.arm === 'challenger' && l.msg === 'model loaded and warmed up; ready');
      const shadows: number[] = [];
      running.service.predictor.onShadowPredictions((e) => shadows.push(e.predictions.duration[0]));

      expectChampionAnswers(await loadFor(running, 100));
      await waitFor(async () => (shadows.length >= 50 ? true : undefined), 'shadow predictions');

      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      expect(metrics).toMatch(
        /challenger_predictions_total\{mode="shadow",model_version="taxi-ride-duration\/1",outcome="success"\} [1-9]/,
      );
      expect(metrics).toMatch(/shadow_absolute_difference_minutes_count [1-9]/);
      expect(metrics).toContain('challenger_model_info{name="taxi-ride-duration",version="1",alias="challenger",stale="false"} 1');
      expect(metrics).toContain('model_info{name="taxi-ride-duration",version="3",alias="production",stale="false"} 1');
      running.service.experiment.record({
        rideId: 'r',
        actual: 10,
        predictions: [
          { modelVersion: CHAMPION, duration: baseline },
          { modelVersion: `${NAME}/1`, duration: shadows[0], arm: 'shadow' },
        ],
      });
      const { body } = await getJson(`${running.url}/experiment`);
      expect(body).toMatchObject({
        mode: 'shadow',
        challenger_loaded: true,
        champion: { model_version: CHAMPION, n: 1 },
        challenger: { model_version: `${NAME}/1`, n: 1 },
        comparison: { paired: true, verdict: 'not_significant' },
      });
    } finally {
      await running.close();
    }
  });

  test('When the challenger is hot-swapped under load, to a corrupt version and then to another, then no answer changes or fails', async () => {
    await setAlias(registry.modelDir, 'challenger', '1');
    const running = await startService(env({ CHALLENGER_URI: `models:/${NAME}@challenger`, MODEL_POLL_INTERVAL_S: '0.05' }));
    try {
      await running.logged((l) => l.arm === 'challenger' && l.msg === 'model loaded and warmed up; ready');
      const result = await loadFor(running, 300, async () => {
        await setAlias(registry.modelDir, 'challenger', '7');
        await running.logged((l) => l.arm === 'challenger' && l.msg.startsWith('new model version refused'));
        await setAlias(registry.modelDir, 'challenger', '3');
        await running.logged((l) => l.arm === 'challenger' && l.msg === 'model swapped');
      });

      expectChampionAnswers(result);
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      expect(metrics).toContain('challenger_model_info{name="taxi-ride-duration",version="3",alias="challenger",stale="false"} 1');
      expect(metrics).toContain('challenger_model_load_failures_total{reason="signature"} 1');
    } finally {
      await running.close();
    }
  });

  /** Load from 4 clients while `during` runs, until at least `count` answers, then stop. */
  async function loadFor(running: RunningService, count: number, during: () => Promise<void> = async () => undefined) {
    const load = clientLoop(running.port, 4, TRIP);
    let stopped: Awaited<ReturnType<typeof load.stop>> | undefined;
    try {
      await during();
      await waitFor(async () => (load.count() >= count ? true : undefined), `${count} answers`, 120_000);
    } finally {
      stopped = await load.stop();
    }
    return stopped;
  }
});
