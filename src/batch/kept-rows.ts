import type { KeptRows } from '../data/trip-filter.js';

/** The buffers of a KeptRows, for a postMessage transfer list (they move between threads, never copied). */
export function keptBuffers(rows: KeptRows): ArrayBuffer[] {
  return [rows.rowIndex, rows.pickupMs, rows.puLocationId, rows.doLocationId, rows.tripDistance, rows.duration].map(
    (a) => a.buffer as ArrayBuffer,
  );
}
