import { fork } from 'node:child_process';
import path from 'node:path';
import type { OpenLoopOptions, OpenLoopSummary } from './open-loop-client.js';

export type { OpenLoopSummary as OpenLoopResult } from './open-loop-client.js';

/**
 * One open-loop step (see open-loop-client.ts for how it sends and what its latencies mean), run in a
 * child process so the orchestrator's timers, GC and stats reading never delay a send.
 */
export function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopSummary> {
  const child = fork(path.join(import.meta.dirname, 'open-loop-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.once('message', (m: { ok: true; summary: OpenLoopSummary } | { ok: false; error: string }) => {
      settled = true;
      if (!m.ok) return reject(new Error(`open-loop client failed: ${m.error}`));
      const s = m.summary;
      resolve({ ...s, latenciesMs: Float64Array.from(s.latenciesMs), sendLagMs: Float64Array.from(s.sendLagMs) });
    });
    child.once('exit', (code) => settled || reject(new Error(`open-loop client exited with ${code} before answering`)));
    child.send(options);
  });
}

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
