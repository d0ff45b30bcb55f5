/**
 * Every Prometheus metric the service exports, on a registry passed in (never prom-client's global
 * one), so each app instance and each test has its own. Names and labels are an interface: alerting
 * rules and dashboards depend on them (README, "Metrics").
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';
import { createExperimentMetrics, type ExperimentMetrics } from './experiment-metrics.js';
import { createMonitoringMetrics, type MonitoringMetrics } from './monitoring-metrics.js';

export type PredictionOutcome = 'success' | 'invalid' | 'error';

/** Label children resolved once per model version, so the predict path does no label lookups. */
export interface ModelMetrics {
  readonly success: Counter.Internal;
  readonly invalid: Counter.Internal;
  readonly error: Counter.Internal;
  readonly inferenceSeconds: Histogram.Internal<string>;
  readonly predictedMinutes: Histogram.Internal<string>;
}

export interface ModelIdentity {
  readonly name: string;
  readonly version: string;
  readonly alias: string | undefined;
  /** Not what MODEL_URI names but the newest cached version that loaded before (registry unreachable, or the named version cannot load). */
  readonly stale?: boolean;
}

/** What GET /metrics reads: a prom-client Registry, or the cluster-wide view (src/cluster.ts). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Micro-batching (src/model/micro-batcher.ts): created with the metrics, observed only when it is on. */
export interface MicroBatchMetrics {
  readonly size: Histogram;
  readonly queueSeconds: Histogram;
}

/** Adaptive batching (src/model/adaptive-batcher.ts), on by default. */
export interface AdaptiveBatchMetrics {
  readonly requestsPerRun: Histogram;
  readonly queueSeconds: Histogram;
}

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequestSeconds: Histogram<'method' | 'route' | 'status_code'>;
  readonly predictions: Counter<'model_version' | 'outcome'>;
  readonly inferenceSeconds: Histogram<'model_version'>;
  readonly batchSize: Histogram;
  readonly modelInfo: Gauge<'name' | 'version' | 'alias' | 'stale'>;
  readonly modelLoadSeconds: Histogram;
  readonly modelLoadFailures: Counter<'reason'>;
  readonly predictedMinutes: Histogram<'model_version'>;
  /** Pre-resolved children for one model version label (e.g. `taxi-ride-duration/2`, or `none`). */
  forModel(modelVersion: string): ModelMetrics;
  /** Cached child of http_request_duration_seconds. */
  httpChild(method: string, route: string, statusCode: number): Histogram.Internal<string>;
  /** model_info = 1 for the served model only. */
  setServedModel(model: ModelIdentity): void;
  /** http_requests_shed_total: requests answered 503 by the in-flight limit (src/http/in-flight-limit.ts). */
  readonly requestsShed: Counter;
  /** Where http_requests_in_flight reads its value at scrape time (nothing is done per request). */
  setInFlightSource(read: () => number): void;
  readonly microBatch: MicroBatchMetrics;
  readonly adaptiveBatch: AdaptiveBatchMetrics;
  /** Champion/challenger (src/experiment/): created with the metrics, observed only when a challenger is set. */
  readonly experiment: ExperimentMetrics;
  /** Model monitoring: feedback, online error, drift (monitoring-metrics.ts). */
  readonly monitoring: MonitoringMetrics;
}

export function createMetrics(registry: Registry = new Registry(), options: { defaultMetrics?: boolean } = {}): Metrics {
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpRequestSeconds = new FastHistogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    // 0.1 ms to 10 s: a prediction takes well under a millisecond; the tail is what alerts watch.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const predictions = new Counter({
    name: 'predictions_total',
    help: 'Prediction requests by model version and outcome (success, invalid = rejected input, error = failed inference).',
    labelNames: ['model_version', 'outcome'] as const,
    registers,
  });
  const inferenceSeconds = new FastHistogram({
    name: 'inference_duration_seconds',
    help: 'Time of one ONNX Runtime run (a whole batch), by model version.',
    labelNames: ['model_version'] as const,
    buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
    registers,
  });
  const batchSize = new FastHistogram({
    name: 'prediction_batch_size',
    help: 'Trips per prediction request (1 for a single trip).',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers,
  });
  const modelInfo = new Gauge({
    name: 'model_info',
    help: 'The model being served: 1 for its name, version and alias; the stale label is true while it is not what MODEL_URI names but the newest cached version that loaded before (registry unreachable, or the named version cannot load).',
    labelNames: ['name', 'version', 'alias', 'stale'] as const,
    // why: with WORKERS > 1 the primary aggregates all workers; each worker's 1 must stay 1, not add up.
    aggregator: 'max',
    registers,
  });
  const modelLoadSeconds = new Histogram({
    name: 'model_load_duration_seconds',
    help: 'Time to resolve, load and warm up a model.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const modelLoadFailures = new Counter({
    name: 'model_load_failures_total',
    help: 'Model loads that failed, by reason (resolve, artifact, signature, session, warmup).',
    labelNames: ['reason'] as const,
    registers,
  });
  const predictedMinutes = new FastHistogram({
    name: 'predicted_duration_minutes',
    help: 'Predicted ride durations in minutes, for watching the output distribution drift.',
    labelNames: ['model_version'] as const,
    buckets: [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180],
    registers,
  });

  const requestsShed = new Counter({
    name: 'http_requests_shed_total',
    help: 'Prediction requests refused with 503 because MAX_IN_FLIGHT requests were already in progress.',
    registers,
  });
  let readInFlight = (): number => 0;
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'Prediction requests in progress (admitted by the in-flight limit, response not finished yet).',
    registers,
    collect() {
      this.set(readInFlight());
    },
  });

  const microBatch: MicroBatchMetrics = {
    size: new Histogram({
      name: 'microbatch_size',
      help: 'Single-trip requests coalesced into one ONNX run by micro-batching.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    }),
    queueSeconds: new Histogram({
      name: 'microbatch_queue_seconds',
      help: 'Time a single-trip request waited in the micro-batching queue before its run started.',
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers,
    }),
  };

  const adaptiveBatch: AdaptiveBatchMetrics = {
    requestsPerRun: new FastHistogram({
      name: 'model_run_requests',
      help: 'Requests answered by one model run: 1 when idle, more when requests queued behind a run in flight (adaptive batching).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    queueSeconds: new FastHistogram({
      name: 'model_queue_seconds',
      help: 'Time a request waited for the model run ahead of it before its own run started (adaptive batching; idle requests do not wait and are not counted).',
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers,
    }),
  };

  const byModel = new Map<string, ModelMetrics>();
  // method → route → status: three lookups, no key string built per request
  const byHttp = new Map<string, Map<string, Map<number, Histogram.Internal<string>>>>();

  return {
    registry,
    httpRequestSeconds,
    predictions,
    inferenceSeconds,
    batchSize,
    modelInfo,
    modelLoadSeconds,
    modelLoadFailures,
    predictedMinutes,
    requestsShed,
    microBatch,
    adaptiveBatch,
    experiment: createExperimentMetrics(registers),
    monitoring: createMonitoringMetrics(registry),
    setInFlightSource(read) {
      readInFlight = read;
    },
    forModel(modelVersion) {
      let m = byModel.get(modelVersion);
      if (m === undefined) {
        m = {
          success: predictions.labels(modelVersion, 'success'),
          invalid: predictions.labels(modelVersion, 'invalid'),
          error: predictions.labels(modelVersion, 'error'),
          inferenceSeconds: inferenceSeconds.labels(modelVersion),
          predictedMinutes: predictedMinutes.labels(modelVersion),
        };
        byModel.set(modelVersion, m);
      }
      return m;
    },
    httpChild(method, route, statusCode) {
      // why: every label value is bounded (HTTP method list, route patterns, status codes), so the cache is too.
      let byRoute = byHttp.get(method);
      if (byRoute === undefined) byHttp.set(method, (byRoute = new Map()));
      let byStatus = byRoute.get(route);
      if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
      let child = byStatus.get(statusCode);
      if (child === undefined) byStatus.set(statusCode, (child = httpRequestSeconds.labels(method, route, String(statusCode))));
      return child;
    },
    setServedModel(model) {
      modelInfo.reset();
      modelInfo.labels(model.name, model.version, model.alias ?? '', String(model.stale === true)).set(1);
    },
  };
}
