/**
 * WORKERS > 1: the monitoring hub (and the in-memory prediction log) live in the cluster primary, so
 * feedback that reaches another worker than its prediction still matches, and the drift window is the
 * merged traffic of all workers.
 *
 * Workers never send a message per request: predictions, drift bins and accuracy sums are buffered
 * and sent as one compact message every FLUSH_MS (or sooner when many are waiting). A feedback request
 * or a GET /monitoring asks the primary and waits for its answer. Ordering makes it exact: one worker's
 * messages arrive in order, and before answering the primary makes every worker flush (a barrier) when
 * a ride is unknown or a snapshot is asked, so a prediction answered before its feedback was sent is
 * always found.
 */
import cluster, { type Worker } from 'node:cluster';
import { ServiceError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { MonitoringGaugeState } from '../observability/monitoring-metrics.js';
import type { AccuracyDelta } from './accuracy.js';
import { mergeDelta } from './accuracy.js';
import type { HubSnapshot, MonitoringHub, VersionInfo } from './hub.js';
import type { HubLink } from './monitor.js';
import type { FeedbackItem, LogBatch, MatchResult, PredictionStore } from './prediction-log.js';

const DATA = 'taxi:monitor-data';
const REQUEST = 'taxi:monitor-request';
const REPLY = 'taxi:monitor-reply';
const FLUSH = 'taxi:monitor-flush';
const FLUSHED = 'taxi:monitor-flushed';

/** How long a worker's predictions wait before they are sent to the primary. */
export const FLUSH_MS = 5;
/** Send at once when this many trips are waiting. */
const FLUSH_TRIPS = 4096;
const REQUEST_TIMEOUT_MS = 5000;
const BARRIER_TIMEOUT_MS = 1000;

/** Predictions of one version (and arm), columns as plain arrays. */
interface PutColumns {
  v: string;
  a?: string;
  ids: (string | number)[];
  d: number[];
  lo?: number[];
  hi?: number[];
}
interface Observations {
  v: string;
  clock: number[];
  bins: number[];
}
interface DataMessage {
  type: typeof DATA;
  describe?: VersionInfo[];
  puts?: PutColumns[];
  obs?: Observations[];
  acc?: AccuracyDelta;
}
type RequestBody = { op: 'match'; items: FeedbackItem[] } | { op: 'snapshot' | 'gauges'; served?: string };
type RequestMessage = RequestBody & { type: typeof REQUEST; id: number };
interface ReplyMessage {
  type: typeof REPLY;
  id: number;
  result?: unknown;
  error?: string;
}

/** In a worker: the hub link, and the prediction store when the primary holds it (no Redis). */
export function joinMonitoringCluster(options: { storeInPrimary: boolean }): { link: HubLink; store?: PredictionStore } {
  let data: DataMessage = { type: DATA };
  let trips = 0;
  let timer: NodeJS.Timeout | undefined;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 0;

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (data.describe === undefined && data.puts === undefined && data.obs === undefined && data.acc === undefined) return;
    const message = data;
    data = { type: DATA };
    trips = 0;
    process.send?.(message);
  };
  const queued = (count: number) => {
    trips += count;
    if (trips >= FLUSH_TRIPS) flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  };
  const request = (message: RequestBody): Promise<unknown> => {
    // why: this worker's buffered predictions must reach the primary before the question does.
    flush();
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        pending.delete(id);
        reject(new ServiceError('feedback_unavailable', 'monitoring did not answer in time; retry later'));
      }, REQUEST_TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer: t });
      process.send?.({ ...message, type: REQUEST, id });
    });
  };
  process.on('message', (message: ReplyMessage | { type: typeof FLUSH; id: number }) => {
    if (message?.type === FLUSH) {
      flush();
      process.send?.({ type: FLUSHED, id: message.id });
    } else if (message?.type === REPLY) {
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.error !== undefined) waiter.reject(new ServiceError('feedback_unavailable', message.error));
      else waiter.resolve(message.result);
    }
  });

  const link: HubLink = {
    describe(info) {
      (data.describe ??= []).push(info);
      queued(0);
    },
    observe(v, clock, bins) {
      const obs = (data.obs ??= []);
      const last = obs.at(-1);
      if (last?.v === v) {
        for (const t of clock) last.clock.push(t);
        for (const b of bins) last.bins.push(b);
      } else obs.push({ v, clock, bins });
      queued(clock.length);
    },
    account(delta) {
      mergeDelta((data.acc ??= {}), delta);
      queued(0);
    },
    snapshot: (served) => request({ op: 'snapshot', served }) as Promise<HubSnapshot>,
    gaugeState: (served) => request({ op: 'gauges', served }) as Promise<MonitoringGaugeState>,
    async close() {
      flush();
    },
  };
  if (!options.storeInPrimary) return { link };

  const store: PredictionStore = {
    kind: 'memory',
    put(batch: LogBatch) {
      const puts = (data.puts ??= []);
      const interval = batch.p10 !== undefined && batch.p90 !== undefined;
      let cols = puts.at(-1);
      if (cols === undefined || cols.v !== batch.modelVersion || cols.a !== batch.arm || (cols.lo !== undefined) !== interval) {
        cols = {
          v: batch.modelVersion,
          ids: [],
          d: [],
          ...(batch.arm !== undefined ? { a: batch.arm } : {}),
          ...(interval ? { lo: [], hi: [] } : {}),
        };
        puts.push(cols);
      }
      for (let i = 0; i < batch.rideIds.length; i++) {
        cols.ids.push(batch.rideIds[i]);
        cols.d.push(batch.duration[i]);
        if (interval) {
          cols.lo!.push(batch.p10![i]);
          cols.hi!.push(batch.p90![i]);
        }
      }
      queued(batch.rideIds.length);
    },
    match: (items) =>
      request({ op: 'match', items: items.map((it) => ({ rideId: it.rideId, actual: it.actual })) }) as Promise<MatchResult[]>,
    async close() {
      flush();
    },
  };
  return { link, store };
}

/**
 * In the primary: answers the workers' monitoring messages from `hub`. Returns the message handler
 * for cluster.on('message'); true when the message was a monitoring one.
 */
export function hostMonitoring(hub: MonitoringHub, logger: Logger): (worker: Worker, message: { type?: string }) => boolean {
  const barriers = new Map<number, { waiting: Set<number>; done: () => void }>();
  let nextBarrier = 0;

  /** Resolves once every live worker has flushed what it buffered before this call (or after a timeout). */
  const barrier = () =>
    new Promise<void>((resolve) => {
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
      if (workers.length === 0) return resolve();
      const id = nextBarrier++;
      const timer = setTimeout(() => {
        barriers.delete(id);
        resolve();
      }, BARRIER_TIMEOUT_MS);
      barriers.set(id, {
        waiting: new Set(workers.map((w) => w.id)),
        done: () => (clearTimeout(timer), barriers.delete(id), resolve()),
      });
      for (const w of workers) w.send({ type: FLUSH, id });
    });

  const apply = (m: DataMessage) => {
    for (const info of m.describe ?? []) hub.describe(info);
    const log = hub.memoryLog;
    if (log !== undefined) {
      for (const c of m.puts ?? []) log.put({ rideIds: c.ids, modelVersion: c.v, duration: c.d, p10: c.lo, p90: c.hi, arm: c.a });
    }
    for (const o of m.obs ?? []) hub.observe(o.v, o.clock, o.bins);
    if (m.acc !== undefined) hub.account(m.acc);
  };

  const answer = async (m: RequestMessage): Promise<unknown> => {
    if (m.op !== 'match') {
      if (m.op === 'gauges') return hub.gaugeState(m.served);
      await barrier();
      return hub.snapshot(m.served);
    }
    const log = hub.memoryLog;
    if (log === undefined) throw new Error('the prediction log is not held by the primary');
    const results = log.matchNow(m.items);
    const unknown = results.flatMap((r, i) => (r === 'unknown' ? [i] : []));
    if (unknown.length === 0) return results;
    await barrier();
    const again = log.matchNow(unknown.map((i) => m.items[i]));
    unknown.forEach((i, k) => (results[i] = again[k]));
    return results;
  };

  return (worker, message) => {
    switch (message?.type) {
      case DATA:
        apply(message as DataMessage);
        return true;
      case FLUSHED: {
        const { id } = message as { id: number };
        const b = barriers.get(id);
        if (b !== undefined) {
          b.waiting.delete(worker.id);
          if (b.waiting.size === 0) b.done();
        }
        return true;
      }
      case REQUEST: {
        const m = message as RequestMessage;
        answer(m).then(
          (result) => worker.isConnected() && worker.send({ type: REPLY, id: m.id, result }),
          (err: Error) => {
            logger.error({ err }, 'monitoring: a worker request failed');
            if (worker.isConnected()) worker.send({ type: REPLY, id: m.id, error: 'monitoring failed; retry later' });
          },
        );
        return true;
      }
      default:
        return false;
    }
  };
}
