/**
 * Batching that never waits (BATCHING=adaptive, the default): a LoadedModel that wraps another, so
 * that one model run answers every request that is ready for it. Measurements: docs/performance.md.
 *
 * With a model that can run synchronously (`runNow`: the ONNX sessions), runs happen once per turn
 * of the event loop: a request queues, and the check phase of the same turn (setImmediate, where
 * onnxruntime-node's own `run` would have run it) runs everything queued as one batch, up to
 * `maxRows` trips per run. A request read alone runs alone, in the same phase as without batching, so
 * nothing is lost at one connection; under load, every request read in one poll phase shares one run
 * and pays the per-run cost of onnxruntime-node (N-API conversions and session set-up, tens of µs) once.
 *
 * With an asynchronous model (fakes, other wrappers): while a run is in flight, runs that arrive queue;
 * when it completes, everything queued runs as one batch; an idle model runs a request at once. One
 * run at a time: a second one in flight would only halve the batches, since onnxruntime-node runs
 * sessions on the main thread (measured: 4.0 instead of 7.0 requests per run, docs/performance.md).
 *
 * Unlike the fixed-delay micro-batcher (micro-batcher.ts), no timer is involved: a request waits only
 * for work already in front of it on the one thread.
 */
import { concatenateColumns as concatenate, type ModelInputColumns } from '../features/model-contract.js';
import type { AdaptiveBatchMetrics } from '../observability/metrics.js';
import { sliceOutputs, type LoadedModel, type ModelOutputs } from './onnx-model.js';

export interface AdaptiveBatchOptions {
  /** Most trips in one coalesced run; a single request larger than this runs alone. */
  maxRows: number;
}

interface Waiting {
  columns: ModelInputColumns;
  n: number;
  queuedAt: number;
  resolve: (outputs: ModelOutputs) => void;
  reject: (err: unknown) => void;
}

export function createAdaptiveBatcher(inner: LoadedModel, options: AdaptiveBatchOptions, metrics: AdaptiveBatchMetrics): LoadedModel {
  const { maxRows } = options;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`adaptive batching needs maxRows ≥ 1, got ${maxRows}`);
  let queue: Waiting[] = [];
  let inFlight = 0;
  const running = new Set<Promise<unknown>>();

  const settle = (): void => {
    inFlight--;
    if (queue.length > 0 && inFlight === 0) flush();
  };

  const start = (columns: ModelInputColumns, n: number, requests: number): Promise<ModelOutputs> => {
    inFlight++;
    metrics.requestsPerRun.observe(requests);
    const run = inner.run(columns, n);
    running.add(run);
    void run.then(
      () => (running.delete(run), settle()),
      () => (running.delete(run), settle()),
    );
    return run;
  };

  /** The next whole requests, in arrival order, up to maxRows trips (the first always goes, so a larger one runs alone). */
  const take = (): { batch: Waiting[]; rows: number } => {
    let rows = queue[0].n;
    let k = 1;
    while (k < queue.length && rows + queue[k].n <= maxRows) rows += queue[k++].n;
    const batch = queue.slice(0, k);
    queue = k === queue.length ? [] : queue.slice(k);
    const now = performance.now();
    for (const w of batch) metrics.queueSeconds.observe((now - w.queuedAt) / 1000);
    return { batch, rows };
  };

  /** One batch's input: a lone request's own columns, or all of them in one. */
  const columnsOf = (batch: readonly Waiting[], rows: number): ModelInputColumns =>
    batch.length === 1 ? batch[0].columns : concatenate(batch, rows);

  const answer = (batch: readonly Waiting[], out: ModelOutputs): void => {
    let offset = 0;
    for (const w of batch) {
      w.resolve(batch.length === 1 ? out : sliceOutputs(out, offset, offset + w.n));
      offset += w.n;
    }
  };

  function flush(): void {
    const { batch, rows } = take();
    start(columnsOf(batch, rows), rows, batch.length).then(
      (out) => answer(batch, out),
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }

  // The once-per-turn path, for a model with runNow.
  const runNow = inner.runNow?.bind(inner);
  let turnScheduled = false;
  let turnDone: Promise<void> | undefined;
  let endTurn: (() => void) | undefined;
  const runTurn = (): void => {
    turnScheduled = false;
    while (queue.length > 0) {
      const { batch, rows } = take();
      metrics.requestsPerRun.observe(batch.length);
      try {
        answer(batch, runNow!(columnsOf(batch, rows), rows));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    endTurn?.();
    turnDone = endTurn = undefined;
  };
  const queueForTurn = (columns: ModelInputColumns, n: number): Promise<ModelOutputs> =>
    new Promise<ModelOutputs>((resolve, reject) => {
      queue.push({ columns, n, queuedAt: performance.now(), resolve, reject });
      if (!turnScheduled) {
        turnScheduled = true;
        setImmediate(runTurn);
      }
    });

  return {
    info: inner.info,
    run(columns, n) {
      if (runNow !== undefined) return queueForTurn(columns, n);
      // why: the idle path is the unbatched path, plus one comparison.
      if (inFlight === 0 && queue.length === 0) return start(columns, n, 1);
      return new Promise<ModelOutputs>((resolve, reject) => {
        queue.push({ columns, n, queuedAt: performance.now(), resolve, reject });
      });
    },
    async release() {
      // why: queued requests run before the session goes; the slot releases only when no lease is out,
      // so nothing new arrives meanwhile.
      if (turnScheduled) {
        turnDone ??= new Promise<void>((resolve) => (endTurn = resolve));
        await turnDone;
      }
      while (queue.length > 0 || running.size > 0) {
        if (queue.length > 0 && inFlight === 0) flush();
        await Promise.allSettled([...running]);
      }
      await inner.release();
    },
  };
}
