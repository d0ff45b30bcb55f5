/**
 * Micro-batching (MICROBATCH_MAX_SIZE > 1): a LoadedModel that wraps another and coalesces concurrent
 * single-trip runs into one ONNX run. One run of k rows costs far less than k runs of one row (the
 * per-run overhead of onnxruntime dominates a model this small), at the price of a short wait.
 *
 * A single-trip run joins the queue; the queue is run when it holds `maxBatchSize` trips, or when
 * the first queued trip has waited `maxDelayUs` (0 = at the end of the current event-loop turn, so
 * only trips whose requests arrived together are coalesced and nobody waits for a timer). Runs of
 * more than one row (batch requests) go straight to the wrapped model.
 */
import { concatenateColumns, type ModelInputColumns } from '../features/model-contract.js';
import type { MicroBatchMetrics } from '../observability/metrics.js';
import { sliceOutputs, type LoadedModel, type ModelOutputs } from './onnx-model.js';

export interface MicroBatchOptions {
  /** Most trips in one coalesced run (≥ 2). */
  maxBatchSize: number;
  /** Longest wait of the first queued trip, in microseconds (timers have millisecond resolution). */
  maxDelayUs: number;
}

interface Waiting {
  columns: ModelInputColumns;
  /** Single-trip runs only (batch requests bypass the queue). */
  n: 1;
  queuedAt: number;
  resolve: (outputs: ModelOutputs) => void;
  reject: (err: unknown) => void;
}

export function createMicroBatcher(inner: LoadedModel, options: MicroBatchOptions, metrics: MicroBatchMetrics): LoadedModel {
  if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 2) {
    throw new RangeError(`micro-batching needs maxBatchSize ≥ 2, got ${options.maxBatchSize}`);
  }
  let queue: Waiting[] = [];
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<unknown>>();

  const flush = () => {
    if (scheduled !== undefined) {
      clearImmediate(scheduled as NodeJS.Immediate);
      clearTimeout(scheduled as NodeJS.Timeout);
      scheduled = undefined;
    }
    const batch = queue;
    queue = [];
    const k = batch.length;
    if (k === 0) return;
    const now = performance.now();
    metrics.size.observe(k);
    for (const w of batch) metrics.queueSeconds.observe((now - w.queuedAt) / 1000);

    const columns = k === 1 ? batch[0].columns : concatenateColumns(batch, k);
    const run = inner.run(columns, k).then(
      (out) => {
        for (let i = 0; i < k; i++) batch[i].resolve(sliceOutputs(out, i, i + 1));
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };

  return {
    info: inner.info,
    run(columns, n) {
      if (n !== 1) return inner.run(columns, n);
      return new Promise<ModelOutputs>((resolve, reject) => {
        queue.push({ columns, n: 1, queuedAt: performance.now(), resolve, reject });
        if (queue.length >= options.maxBatchSize) flush();
        else if (scheduled === undefined) {
          scheduled = options.maxDelayUs === 0 ? setImmediate(flush) : setTimeout(flush, options.maxDelayUs / 1000);
        }
      });
    },
    async release() {
      flush();
      await Promise.allSettled([...inFlight]);
      await inner.release();
    },
  };
}
