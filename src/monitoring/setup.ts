/**
 * Builds a serving process's monitor from the config: where predictions wait for feedback (memory, or
 * Redis with REDIS_URL) and where the hub lives (this process, or the cluster primary with WORKERS > 1).
 */
import type { Config } from '../config.js';
import type { Predictor } from '../model/predictor.js';
import type { Logger } from '../observability/logger.js';
import type { MonitoringMetrics } from '../observability/monitoring-metrics.js';
import { joinMonitoringCluster } from './cluster-link.js';
import { createHub, type HubConfig, type MonitoringHub } from './hub.js';
import { createMonitor, type HubLink, type Monitor } from './monitor.js';
import { RedisPredictionLog } from './redis-log.js';

export type MonitoringConfig = HubConfig & Pick<Config, 'MONITORING' | 'REDIS_TIMEOUT_MS'>;

/** The hub in this process, behind the same interface as the cluster link. */
export function localLink(hub: MonitoringHub): HubLink {
  return {
    describe: (info) => hub.describe(info),
    observe: (v, clock, bins) => hub.observe(v, clock, bins),
    account: (delta) => hub.account(delta),
    snapshot: async (served) => hub.snapshot(served),
    gaugeState: async (served) => hub.gaugeState(served),
    close: async () => undefined,
  };
}

export interface MonitoringDeps {
  predictor: Predictor;
  metrics: MonitoringMetrics;
  logger: Logger;
  /** A cluster worker: the hub (and the in-memory log) are in the primary. */
  clustered: boolean;
  now?: () => number;
}

/** The monitor, or undefined when MONITORING=false. */
export function createMonitoring(
  config: MonitoringConfig,
  { predictor, metrics, logger, clustered, now }: MonitoringDeps,
): Monitor | undefined {
  if (!config.MONITORING) return undefined;
  const redis = () =>
    new RedisPredictionLog({ url: config.REDIS_URL!, ttlS: config.FEEDBACK_TTL_S, timeoutMs: config.REDIS_TIMEOUT_MS, logger, metrics });
  let link: HubLink;
  let store;
  if (clustered) {
    const joined = joinMonitoringCluster({ storeInPrimary: config.REDIS_URL === undefined });
    link = joined.link;
    store = joined.store ?? redis();
  } else {
    const hub = createHub(config, now);
    link = localLink(hub);
    store = hub.memoryLog ?? redis();
  }
  return createMonitor({
    predictor,
    metrics,
    logger,
    store,
    link,
    settings: { ttlS: config.FEEDBACK_TTL_S, maxRides: config.PREDICTION_LOG_MAX },
  });
}
