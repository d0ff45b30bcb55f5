/**
 * Batching that never waits (BATCHING=adaptive, the default): a LoadedModel that wraps another. While
 * a run is in flight, runs that arrive queue; when it completes, everything queued runs as one batch
 * (up to `maxRows` trips). An idle model runs each request at once, exactly as without batching, so
 * nothing is lost at one connection; a busy one pays the per-run cost of onnxruntime-node (an
 * asynchronous hop to its thread pool and the N-API conversions, tens of µs) once per queue instead
 * of once per request. Measurements: docs/performance.md.
 *
 * Unlike the fixed-delay micro-batcher (micro-batcher.ts), no timer is involved: a request waits only
 * for the run ahead of it, which it would have contended with for the CPU anyway.
 */
import { allocateInputColumns, type ModelInputColumns } from '../features/model-contract.js';
import type { AdaptiveBatchMetrics } from '../observability/metrics.js';
import { sliceOutputs, type LoadedModel, type ModelOutputs } from './onnx-model.js';

export interface AdaptiveBatchOptions {
  /** Most trips in one coalesced run; a single request larger than this runs alone. */
  maxRows: number;
  /** Runs in flight at once before arrivals queue (1: one inference thread per worker). */
  maxInFlight?: number;
}

interface Waiting {
  columns: ModelInputColumns;
  n: number;
  queuedAt: number;
  resolve: (outputs: ModelOutputs) => void;
  reject: (err: unknown) => void;
}

const COLUMN_NAMES = ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow'] as const;

/** One column set holding the rows of every waiting request, in queue order. */
function concatenate(batch: readonly Waiting[], rows: number): ModelInputColumns {
  const columns = allocateInputColumns(rows);
  let offset = 0;
  for (const w of batch) {
    for (const name of COLUMN_NAMES) {
      const source = w.columns[name];
      if (w.n === 1) {
        columns[name][offset] = source[0] as never;
      } else {
        (columns[name] as Float32Array).set((source as Float32Array).subarray(0, w.n), offset);
      }
    }
    offset += w.n;
  }
  return columns;
}

export function createAdaptiveBatcher(inner: LoadedModel, options: AdaptiveBatchOptions, metrics: AdaptiveBatchMetrics): LoadedModel {
  const { maxRows } = options;
  const maxInFlight = options.maxInFlight ?? 1;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`adaptive batching needs maxRows ≥ 1, got ${maxRows}`);
  let queue: Waiting[] = [];
  let inFlight = 0;
  const running = new Set<Promise<unknown>>();

  const settle = (): void => {
    inFlight--;
    if (queue.length > 0 && inFlight < maxInFlight) flush();
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

  function flush(): void {
    // why: take whole requests, in arrival order, until the next one would pass maxRows; the first
    // one always goes, so a request larger than maxRows still runs (alone).
    let rows = queue[0].n;
    let k = 1;
    while (k < queue.length && rows + queue[k].n <= maxRows) rows += queue[k++].n;
    const batch = queue.slice(0, k);
    queue = queue.slice(k);
    const now = performance.now();
    for (const w of batch) metrics.queueSeconds.observe((now - w.queuedAt) / 1000);
    const columns = k === 1 ? batch[0].columns : concatenate(batch, rows);
    start(columns, rows, k).then(
      (out) => {
        let offset = 0;
        for (const w of batch) {
          w.resolve(k === 1 ? out : sliceOutputs(out, offset, offset + w.n));
          offset += w.n;
        }
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }

  return {
    info: inner.info,
    run(columns, n) {
      // why: the idle path is the unbatched path, plus one comparison.
      if (inFlight < maxInFlight && queue.length === 0) return start(columns, n, 1);
      return new Promise<ModelOutputs>((resolve, reject) => {
        queue.push({ columns, n, queuedAt: performance.now(), resolve, reject });
      });
    },
    async release() {
      // why: queued requests run before the session goes; the slot releases only when no lease is out,
      // so nothing new arrives meanwhile.
      while (queue.length > 0 || running.size > 0) {
        if (queue.length > 0 && inFlight < maxInFlight) flush();
        await Promise.allSettled([...running]);
      }
      await inner.release();
    },
  };
}
