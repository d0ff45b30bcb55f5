/**
 * ScoringIo on a worker thread, so parquet decoding, filtering and writing use the second core while
 * the main thread runs the model (onnxruntime-node runs a session on the calling thread).
 */
import { Worker } from 'node:worker_threads';
import { DataError } from '../data/data-error.js';
import type { IoReply, IoRequest } from './io-worker.js';
import { keptBuffers } from './kept-rows.js';
import type { ScoringIo } from './scoring-io.js';
import type { ScoredRows } from './predictions-file.js';

// why: under tsx (npm run score, tests) this module is .ts and the worker needs tsx's loader too; dist/ is .js.
// A worker does not inherit tsx's loader, so it registers it first (tsx is a dev dependency).
function startWorker(): Worker {
  // why small semi-spaces: decoding a row group makes short-lived garbage; 16 MB semi-spaces (V8's default)
  // let each thread's young generation grow by tens of MB for no speed gain (docs/batch.md, "Memory").
  const resourceLimits = { maxYoungGenerationSizeMb: 12 };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./io-worker.js', import.meta.url), { resourceLimits });
  const entry = JSON.stringify(new URL('./io-worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`, {
    eval: true,
    resourceLimits,
  });
}

export function createWorkerIo(): ScoringIo {
  const worker = startWorker();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failed: Error | undefined;
  const failAll = (error: Error) => {
    failed = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: IoReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if ('error' in reply) {
      // why: a DataError is the user's input, its message the one error line; anything else is a bug.
      const { name, message } = reply.error;
      p.reject(name === 'DataError' ? new DataError(message) : Object.assign(new Error(message), { name }));
    } else p.resolve(reply.result);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the scoring worker thread exited (code ${code})`)));
  const call = <T>(method: IoRequest['method'], args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> => {
    if (failed) return Promise.reject(failed);
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies IoRequest, transfer);
    });
  };
  const transferOf = ({ rows, predicted, p10, p90 }: ScoredRows) =>
    [...keptBuffers(rows), predicted.buffer, ...(p10 ? [p10.buffer] : []), ...(p90 ? [p90.buffer] : [])] as ArrayBuffer[];
  return {
    open: (path, label) => call('open', [path, label]),
    read: (group) => call('read', [group]),
    startOutput: (options) => call('startOutput', [options]),
    write: (scored) => call('write', [scored], transferOf(scored)),
    finish: () => call('finish', []),
    abort: () => call('abort', []),
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
