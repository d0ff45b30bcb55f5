/**
 * WORKERS > 1 (node:cluster). The primary serves no requests: it forks the workers, restarts one that
 * crashes (with backoff), asks every worker to drain on SIGTERM/SIGINT, and exits once all have
 * exited. It also answers the workers' /metrics requests with prom-client's aggregate of all workers,
 * so Prometheus sees one consistent view whichever worker its scrape lands on.
 *
 * Each worker is the whole service (server.ts). In cluster mode a worker listens only once its model
 * is loaded: the primary hands accepted connections round-robin to listening workers, so a worker
 * that is still loading (at start-up or after a restart) is never sent traffic.
 */
import cluster, { type Worker } from 'node:cluster';
import { constants as osConstants } from 'node:os';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './observability/logger.js';
import type { MetricsSource } from './observability/metrics.js';

const READY = 'taxi:worker-ready';
const STOP = 'taxi:stop';
const METRICS_REQUEST = 'taxi:metrics-request';
const METRICS_RESPONSE = 'taxi:metrics-response';
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that ran this long without crashing resets the backoff. */
const STABLE_MS = 60_000;
/** Per /metrics request; prom-client's own aggregation gives up after 5 s. */
const METRICS_TIMEOUT_MS = 6_000;

interface Message {
  type?: string;
  id?: number;
  text?: string;
  error?: string;
  signal?: string;
}

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** After a stop signal: how long workers get to drain and finish before they are killed (exit 1). */
  shutdownBudgetMs: number;
  /** Handles other protocols' worker messages (monitoring, src/monitoring/cluster-link.ts); true when handled. */
  onWorkerMessage?: (worker: Worker, message: { type?: string }) => boolean;
}

/** The primary's whole life. Never resolves; the process exits when the last worker has exited. */
export function runPrimary({ workers, logger, shutdownBudgetMs, onWorkerMessage }: PrimaryOptions): void {
  // why: constructing it registers the primary's listener for the workers' metric replies.
  const aggregator = new AggregatorRegistry();
  const live = new Set<Worker>();
  const ready = new Set<Worker>();
  let stopping = false;
  let exitCode = 0;
  let restartDelay = RESTART_MIN_MS;
  let lastCrash = 0;

  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
  };

  const stop = (reason: string, signal: NodeJS.Signals = 'SIGTERM') => {
    if (stopping) {
      if (reason !== signal) return;
      // why: a second signal (Ctrl-C twice) means now, as in a single process (server.ts).
      logger.warn({ signal }, 'second stop signal: killing the workers and exiting now');
      for (const worker of live) worker.process.kill('SIGKILL');
      process.exit(128 + (osConstants.signals[signal] ?? 0));
    }
    stopping = true;
    logger.info({ reason, workers: live.size }, 'stopping: asking every worker to drain');
    // why a message naming the signal, not the signal: under systemd (KillMode=control-group) or
    // dumb-init every process of the group gets the signal itself, and a forwarded copy would reach each
    // worker as a second signal, which means "now", dropping its drain. The worker treats the message
    // as its first stop, or ignores it when the signal got there first; an interactive Ctrl-C still
    // skips the drain, since the message names SIGINT.
    // A worker still loading is not listening: the signal itself stops it, drained or not.
    for (const worker of live) {
      if (ready.has(worker) && worker.isConnected()) worker.send({ type: STOP, signal });
      else worker.process.kill(signal);
    }
    setTimeout(() => {
      logger.error({ timeout_ms: shutdownBudgetMs }, 'workers did not exit in time; killing them');
      for (const worker of live) worker.process.kill('SIGKILL');
      process.exit(1);
    }, shutdownBudgetMs).unref();
    if (live.size === 0) process.exit(exitCode);
  };

  cluster.on('message', (worker: Worker, message: Message) => {
    if (message?.type === READY) {
      ready.add(worker);
      if (ready.size === workers) logger.info({ workers }, 'all workers ready');
    } else if (message?.type === METRICS_REQUEST) {
      aggregator.clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ type: METRICS_RESPONSE, id: message.id, text }),
        (err: Error) => worker.isConnected() && worker.send({ type: METRICS_RESPONSE, id: message.id, error: err.message }),
      );
    } else {
      onWorkerMessage?.(worker, message);
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    const wasReady = ready.delete(worker);
    const pid = worker.process.pid;
    if (stopping) {
      if (code !== 0) exitCode = 1;
      logger.info({ worker_pid: pid, code, signal, remaining: live.size }, 'worker exited');
      if (live.size === 0) process.exit(exitCode);
      return;
    }
    if (!wasReady) {
      // why: a worker that cannot load the model will not do better on the next try (same config,
      // same model); exiting 1 is what the single-process server does, and what the orchestrator sees.
      logger.fatal({ worker_pid: pid, code, signal }, 'a worker exited before it was ready; stopping');
      exitCode = 1;
      stop('worker failed at start-up');
      return;
    }
    const now = Date.now();
    if (now - lastCrash > STABLE_MS) restartDelay = RESTART_MIN_MS;
    lastCrash = now;
    logger.error({ worker_pid: pid, code, signal, restart_in_ms: restartDelay }, 'worker exited; restarting it');
    setTimeout(() => stopping || fork(), restartDelay);
    restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
  });

  process.on('SIGTERM', () => stop('SIGTERM', 'SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT', 'SIGINT'));
  logger.info({ workers, pid: process.pid }, 'primary: starting workers');
  for (let i = 0; i < workers; i++) fork();
}

/**
 * In a worker: exposes `registry` to the primary's aggregation and returns the metrics source that
 * asks the primary for the metrics of all workers.
 */
export function joinCluster(registry: Registry): MetricsSource {
  AggregatorRegistry.setRegistries([registry]);
  // why: constructing it in a worker registers the listener that answers the primary's requests.
  new AggregatorRegistry();
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  process.on('message', (message: Message) => {
    if (message?.type !== METRICS_RESPONSE || message.id === undefined) return;
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(`cluster metrics: ${message.error}`));
    else waiter.resolve(message.text ?? '');
  });
  return {
    contentType: registry.contentType,
    metrics: () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('cluster metrics: the primary did not answer in time'));
        }, METRICS_TIMEOUT_MS);
        pending.set(id, {
          resolve: (text) => (clearTimeout(timer), resolve(text)),
          reject: (err) => (clearTimeout(timer), reject(err)),
        });
        process.send!({ type: METRICS_REQUEST, id });
      }),
  };
}

/**
 * In a worker: calls `onStop` with the signal the primary was stopped by, when it asks this worker to
 * stop. The primary asks only workers that reported ready, so installing it before reportReady is enough.
 */
export function onStopRequest(onStop: (signal: NodeJS.Signals) => void): void {
  process.on('message', (message: Message) => {
    if (message?.type === STOP) onStop(message.signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
  });
}

/** In a worker: tells the primary this worker has its model and is listening. */
export function reportReady(): void {
  process.send?.({ type: READY });
}
