import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RequestListener } from 'node:http';
import { createApp, type Lifecycle } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { ModelInputColumns } from '../../src/features/model-contract.js';
import type { Trip } from '../../src/features/trip-inputs.js';
import { loadModel } from '../../src/model/load-model.js';
import { ModelSlot } from '../../src/model/model-slot.js';
import type { LoadedModel, ModelInfo, ModelOutputs } from '../../src/model/onnx-model.js';
import { createPredictor, type Predictor } from '../../src/model/predictor.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { createModelSource } from '../../src/registry/create-source.js';
import type { ModelSource } from '../../src/registry/model-source.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
/** The embedded registry the service ships with (REGISTRY_URI=file:models). */
export const EMBEDDED_REGISTRY = 'file:models';
export const FIXTURE_REGISTRY = 'file:tests/fixtures/registry';
export const PRODUCTION_URI = 'models:/taxi-ride-duration@production';

/** The version the embedded registry's `production` alias points at. */
export function productionVersion(): string {
  return JSON.parse(readFileSync(resolve(REPO_ROOT, 'models/taxi-ride-duration/aliases.json'), 'utf8')).production;
}

export type LogLine = Record<string, unknown> & { msg: string; level: number };

export interface TestApp {
  app: RequestListener;
  slot: ModelSlot;
  predictor: Predictor;
  metrics: Metrics;
  lifecycle: Lifecycle;
  config: Config;
  logs: LogLine[];
}

export async function loadTestModel(
  modelUri = PRODUCTION_URI,
  registryUri = EMBEDDED_REGISTRY,
  metrics: Metrics = createMetrics(undefined, { defaultMetrics: false }),
): Promise<LoadedModel> {
  const config = loadConfig({ MODEL_URI: modelUri, REGISTRY_URI: registryUri });
  return loadModel(createModelSource(config, { cwd: REPO_ROOT }), config.MODEL_URI, metrics);
}

/** The source server.ts would build for these settings, and the parsed MODEL_URI. */
export function sourceFor(modelUri: string, registryUri = EMBEDDED_REGISTRY): { source: ModelSource; uri: Config['MODEL_URI'] } {
  const config = loadConfig({ MODEL_URI: modelUri, REGISTRY_URI: registryUri });
  return { source: createModelSource(config, { cwd: REPO_ROOT }), uri: config.MODEL_URI };
}

/** A real pino logger whose lines are parsed into `logs` as they are written. */
export function capturingLogger(level: string): { logger: Logger; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  return { logger, logs };
}

/** An app as server.ts builds it, with logs captured from a real pino destination. */
export async function buildApp(
  options: { model?: LoadedModel | null; env?: Record<string, string>; logLevel?: string; now?: () => number } = {},
): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: options.logLevel ?? 'debug', ...options.env });
  const { logger, logs } = capturingLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  const slot = new ModelSlot();
  const lifecycle: Lifecycle = { draining: false };
  const model = options.model === undefined ? await loadTestModel(PRODUCTION_URI, EMBEDDED_REGISTRY, metrics) : options.model;
  if (model !== null) {
    await slot.swap(model);
    metrics.setServedModel(model.info);
  }
  const predictor = createPredictor({ slot, metrics });
  const app = createApp({ config, logger, metrics, predictor, lifecycle, now: options.now });
  return { app, slot, predictor, metrics, lifecycle, config, logs };
}

export function aTrip(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { PULocationID: 10, DOLocationID: 50, trip_distance: 40, ...overrides };
}

/** A trip as the predictor receives it (validated, no pickup time), for tests that call the predictor directly. */
export function aValidTrip(overrides: Partial<Trip> = {}): Trip {
  return { PULocationID: 10, DOLocationID: 20, trip_distance: 3, pickup: undefined, ...overrides };
}

export function fakeInfo(overrides: Partial<ModelInfo> = {}): ModelInfo {
  return {
    name: 'fake',
    version: '1',
    alias: undefined,
    modelVersion: 'fake/1',
    featureSet: 'base',
    inputs: [],
    outputs: [{ name: 'duration', type: 'float32' }],
    training: undefined,
    intervals: false,
    loadedAt: new Date(0),
    ...overrides,
  };
}

/** A model whose run is given by the test: slow, failing or returning NaN (MLServer's SlowModel/ErrorModel). */
export function fakeModel(
  run: (columns: ModelInputColumns, n: number) => Promise<Float32Array | ModelOutputs>,
  info: Partial<ModelInfo> = {},
): LoadedModel & { released: boolean } {
  const model = {
    info: fakeInfo(info),
    released: false,
    run: async (columns: ModelInputColumns, n: number): Promise<ModelOutputs> => {
      const out = await run(columns, n);
      return out instanceof Float32Array ? { duration: out } : out;
    },
    async release() {
      model.released = true;
    },
  };
  return model;
}

/** A promise with its resolve function, to hold a fake model's run open. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** One prediction as the API rounds it: the duration, and the interval when the model has one. */
export interface DirectPrediction {
  duration: number;
  duration_p10?: number;
  duration_p90?: number;
}

/**
 * The served model's predictions computed without the service: its ONNX file run directly, with the
 * inputs built by hand from the contract. Values are rounded as the API rounds them.
 */
export async function predictDirectly(
  rows: { PULocationID: number; DOLocationID: number; trip_distance: number; pickup_hour: number; pickup_dow: number }[],
  modelUri = PRODUCTION_URI,
  registryUri = EMBEDDED_REGISTRY,
): Promise<DirectPrediction[]> {
  const ort = await import('onnxruntime-node');
  // as serving does before its first session: telemetry would leave files in the temp dir (docs/operations.md)
  (await import('../../src/model/ort-session.js')).ortTelemetryOffByDefault();
  const { readModelDirectory } = await import('../../src/registry/model-directory.js');
  const { source, uri } = sourceFor(modelUri, registryUri);
  const resolved = await source.resolve(uri);
  const session = await ort.InferenceSession.create((await readModelDirectory(resolved.dir)).onnxFile);
  const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [rows.length]);
  const all: Record<string, InstanceType<typeof ort.Tensor>> = {
    PULocationID: int64(rows.map((r) => r.PULocationID)),
    DOLocationID: int64(rows.map((r) => r.DOLocationID)),
    trip_distance: new ort.Tensor('float32', Float32Array.from(rows.map((r) => r.trip_distance)), [rows.length]),
    pickup_hour: int64(rows.map((r) => r.pickup_hour)),
    pickup_dow: int64(rows.map((r) => r.pickup_dow)),
  };
  const feeds = Object.fromEntries(session.inputNames.map((name) => [name, all[name]]));
  const out = await session.run(feeds);
  await session.release();
  const round = (d: number) => Math.round(d * 1000) / 1000;
  const column = (name: string) => out[name]?.data as Float32Array | undefined;
  const [duration, p10, p90] = [column('duration')!, column('duration_p10'), column('duration_p90')];
  return Array.from(duration, (d, i) =>
    p10 === undefined || p90 === undefined
      ? { duration: round(d) }
      : { duration: round(d), duration_p10: round(p10[i]), duration_p90: round(p90[i]) },
  );
}
