/**
 * Shadow replay (docs/experiments.md, "Measured"): February 2021 through a service with champion
 * version 3 and shadow challenger version 1, every ride's actual duration fed back, then GET /experiment
 * compared with the offline RMSE of both versions on the same trips.
 *
 * Predictions go through the service's predictor (the code every front end calls, shadow included);
 * feedback is joined by a minimal in-script prediction log shaped like the monitor's (ride id → each
 * version's prediction) through linkExperimentToMonitoring, the same glue the service uses with monitoring.
 *
 *   npx tsx bench/experiment-replay.ts [path to green_tripdata_2021-02.parquet]
 */
import { resolve } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createService } from '../src/create-service.js';
import { linkExperimentToMonitoring, type FeedbackSource } from '../src/experiment/monitoring-link.js';
import { readEvaluationSet } from '../src/experiment/offline-evaluation.js';
import { runGate } from '../src/experiment/promotion.js';
import { createModelSource } from '../src/registry/create-source.js';
import type { FeedbackEvent } from '../src/experiment/online-stats.js';
import type { RideId } from '../src/features/trip-inputs.js';
import { createLogger } from '../src/observability/logger.js';

const data = process.argv[2] ?? resolve(import.meta.dirname, '../../shared/data/green_tripdata_2021-02.parquet');
const BATCH = 500;

const config = loadConfig({
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'warn',
  MODEL_POLL_INTERVAL_S: '0',
  SHUTDOWN_DRAIN_MS: '0',
  MODEL_URI: 'models:/taxi-ride-duration/3',
  CHALLENGER_URI: 'models:/taxi-ride-duration/1',
  CHALLENGER_MODE: 'shadow',
});
const service = createService(config, createLogger({ level: 'warn' }), { cwd: resolve(import.meta.dirname, '..') });
const { port } = await service.start();
await new Promise<void>((done) => {
  const wait = () => (service.predictor.challenger?.model ? done() : setTimeout(wait, 20));
  wait();
});

// A minimal prediction log: what the monitor keeps per ride.
const log = new Map<RideId, { modelVersion: string; duration: number; arm?: string }[]>();
const listeners: ((e: FeedbackEvent) => void)[] = [];
const monitor: FeedbackSource = {
  logPredictions(batch) {
    batch.rideIds.forEach((id, i) => log.get(id)?.push({ modelVersion: batch.modelVersion, duration: batch.duration[i], arm: batch.arm }));
  },
  onFeedback: (listener) => (listeners.push(listener), () => undefined),
};
service.predictor.onPredictions(({ predictions: p }) =>
  p.rideIds.forEach((id, i) => log.set(id, [{ modelVersion: p.modelVersion, duration: p.duration[i] }])),
);
linkExperimentToMonitoring(service.predictor, monitor, service.experiment);

const set = await readEvaluationSet([data]);
const started = performance.now();
let shadowRuns = 0;
let shadowDone = () => undefined as void;
service.predictor.onShadowPredictions(() => {
  shadowRuns++;
  shadowDone();
});
const batches = Math.ceil(set.trips.length / BATCH);
for (let start = 0; start < set.trips.length; start += BATCH) {
  const trips = set.trips.slice(start, start + BATCH).map((t, k) => ({ ...t, ride_id: `2021/02_${start + k}` }));
  await service.predictor.predict(trips, 0);
}
await new Promise<void>((done) => {
  shadowDone = () => (shadowRuns >= batches ? done() : undefined);
  shadowDone();
});
for (let i = 0; i < set.trips.length; i++) {
  const predictions = log.get(`2021/02_${i}`) ?? [];
  for (const l of listeners) l({ rideId: `2021/02_${i}`, actual: set.actual[i], predictions });
}
const seconds = (performance.now() - started) / 1000;
const experiment = (await (await fetch(`http://127.0.0.1:${port}/experiment`)).json()) as {
  champion: { rmse: number };
  challenger: { rmse: number };
};
await service.stop();

// Offline: the promotion gate's scoring of both versions on the same file.
const gate = await runGate({
  source: createModelSource(config, { cwd: resolve(import.meta.dirname, '..') }),
  champion: config.MODEL_URI,
  challenger: config.CHALLENGER_URI!,
  data: [data],
  cwd: resolve(import.meta.dirname, '..'),
  replicates: 100,
  seed: 42,
});
const offline = { champion: gate.segments[0].champion.rmse, challenger: gate.segments[0].challenger.rmse };
console.log(
  JSON.stringify(
    {
      when: new Date().toISOString(),
      trips: set.trips.length,
      replay_seconds: Math.round(seconds * 10) / 10,
      experiment,
      offline_rmse: offline,
      rmse_gap: {
        champion: Math.abs(experiment.champion.rmse - offline.champion),
        challenger: Math.abs(experiment.challenger.rmse - offline.challenger),
      },
    },
    null,
    2,
  ),
);
