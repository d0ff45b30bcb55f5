/**
 * The stream consumer's own metrics (docs/streaming.md, "Metrics"), on the same per-process registry
 * as the model metrics it shares with the service (metrics.ts). Created only by the consumer, so the
 * HTTP service does not export empty stream series.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * What became of one input entry: predicted (an output written), duplicate (its ride already had an
 * output), already_acknowledged (another consumer committed the entry first: a claim race),
 * dead_lettered (bad input, or a prediction that failed for this entry alone).
 */
export type StreamOutcome = 'predicted' | 'duplicate' | 'already_acknowledged' | 'dead_lettered';

export interface StreamMetrics {
  readonly entries: Counter<'outcome'>;
  readonly batchSize: Histogram;
  readonly endToEndSeconds: Histogram;
  readonly claimed: Counter;
  readonly redisErrors: Counter;
  /** Sets stream_lag_entries and stream_pending_entries from XINFO GROUPS. */
  setGroupInfo(lag: number | undefined, pending: number): void;
  /** Where stream_redis_connected reads its value at scrape time. */
  setConnectedSource(read: () => boolean): void;
}

export function createStreamMetrics(registry: Registry): StreamMetrics {
  const registers = [registry];
  const entries = new Counter({
    name: 'stream_entries_total',
    help: 'Input entries handled, by outcome: predicted, duplicate (the ride already had an output), already_acknowledged (committed by another consumer first), dead_lettered.',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of ['predicted', 'duplicate', 'already_acknowledged', 'dead_lettered'] satisfies StreamOutcome[])
    entries.labels(outcome);
  const batchSize = new Histogram({
    name: 'stream_batch_size',
    help: 'Entries per batch read from the events stream (new, own pending or claimed).',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers,
  });
  const lag = new Gauge({
    name: 'stream_lag_entries',
    help: 'Entries in the events stream not yet delivered to the consumer group (XINFO GROUPS lag); the scaling signal.',
    registers,
  });
  const pending = new Gauge({
    name: 'stream_pending_entries',
    help: 'Entries delivered to the consumer group and not yet acknowledged, all consumers (XINFO GROUPS pending).',
    registers,
  });
  const endToEndSeconds = new Histogram({
    name: 'stream_end_to_end_seconds',
    help: "Time from an input entry's id (when Redis stored it) to its prediction's commit, by Redis's clock.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const claimed = new Counter({
    name: 'stream_claimed_entries_total',
    help: 'Entries taken over from consumers that held them longer than STREAM_CLAIM_IDLE_MS (XAUTOCLAIM).',
    registers,
  });
  const redisErrors = new Counter({
    name: 'stream_redis_errors_total',
    help: 'Failed Redis calls and connection errors of the consumer (each is retried with backoff).',
    registers,
  });
  let readConnected = (): boolean => false;
  new Gauge({
    name: 'stream_redis_connected',
    help: 'Whether both Redis connections of the consumer (reads, commits) are up: 1 or 0.',
    registers,
    collect() {
      this.set(readConnected() ? 1 : 0);
    },
  });
  return {
    entries,
    batchSize,
    endToEndSeconds,
    claimed,
    redisErrors,
    setGroupInfo(lagEntries, pendingEntries) {
      // why: Redis reports no lag (nil) when it cannot compute it (e.g. after deletions); the gauge keeps its last value.
      if (lagEntries !== undefined) lag.set(lagEntries);
      pending.set(pendingEntries);
    },
    setConnectedSource(read) {
      readConnected = read;
    },
  };
}
