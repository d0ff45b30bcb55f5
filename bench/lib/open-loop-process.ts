/**
 * The open-loop client's own process: receives its options over IPC, runs, sends the summary back and
 * exits. Started by runOpenLoop (open-loop.ts) so that the load generator shares no event loop, heap or
 * garbage collector with the bench orchestrator.
 */
import { openLoop, type OpenLoopOptions } from './open-loop-client.js';

process.once('message', (options: OpenLoopOptions) => {
  openLoop(options).then(
    (summary) => {
      const message = { ...summary, latenciesMs: Array.from(summary.latenciesMs), sendLagMs: Array.from(summary.sendLagMs) };
      process.send?.({ ok: true, summary: message }, () => process.exit(0));
    },
    (err: unknown) => process.send?.({ ok: false, error: String((err as Error)?.stack ?? err) }, () => process.exit(1)),
  );
});
