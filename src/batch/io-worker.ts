/**
 * The worker-thread side of ScoringIo: each message names a method and its arguments; the answer carries
 * the result (typed arrays transferred, not copied) or the error's name and message.
 */
import { parentPort } from 'node:worker_threads';
import type { KeptRows } from '../data/trip-filter.js';
import { keptBuffers } from './kept-rows.js';
import { createInlineIo, type ScoringIo } from './scoring-io.js';

export interface IoRequest {
  readonly id: number;
  readonly method: keyof ScoringIo;
  readonly args: unknown[];
}

export type IoReply =
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: { name: string; message: string } };

const io = createInlineIo();
const port = parentPort;
if (port) {
  port.on('message', async ({ id, method, args }: IoRequest) => {
    try {
      const result = await (io[method] as (...a: unknown[]) => Promise<unknown>)(...args);
      const transfer = method === 'read' ? keptBuffers(result as KeptRows) : [];
      port.postMessage({ id, result } satisfies IoReply, transfer);
    } catch (error) {
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      port.postMessage({ id, error: { name, message } } satisfies IoReply);
    }
  });
}
