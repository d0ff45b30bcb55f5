import { floorIndex } from '../monitoring/drift.js';

/** A histogram for drift monitoring: `counts[i]` rows fell in [edges[i], edges[i+1]), the last bin closed. */
export interface Histogram {
  readonly edges: number[];
  readonly counts: number[];
  /** Rows below the first edge and above the last one (kept, not folded into the end bins). */
  readonly underflow: number;
  readonly overflow: number;
}

export function histogram(values: ArrayLike<number>, edges: number[]): Histogram {
  const counts = new Array<number>(edges.length - 1).fill(0);
  let underflow = 0;
  let overflow = 0;
  const last = edges.length - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= edges[0])) underflow++;
    else if (v > edges[last]) overflow++;
    else counts[floorIndex(edges, v, 0, last - 1)]++;
  }
  return { edges, counts, underflow, overflow };
}

/** Edges start, start+step, …, end. */
export function evenEdges(start: number, end: number, step: number): number[] {
  const edges: number[] = [];
  for (let v = start; v <= end + 1e-9; v += step) edges.push(Number(v.toFixed(6)));
  return edges;
}
