/**
 * summary.json: what a scheduler, a dashboard or a person checks after a monthly run (docs/batch.md,
 * "summary.json"). Rows read, kept and dropped by reason; error overall and per pickup day; drift per
 * feature and for the prediction; where the output is; timings and peak memory.
 */
import { relative } from 'node:path';
import type { DropCounts } from '../data/trip-filter.js';
import type { ModelInfo } from '../model/onnx-model.js';
import type { InputFile } from './input-file.js';
import type { DaySummary, DriftSummary, ErrorSummary, MonthStats } from './month-stats.js';
import type { TripFileInfo } from './scoring-io.js';

export interface ScoreSummary {
  readonly format_version: 1;
  readonly created_at: string;
  readonly input: { source: string; file: string; bytes: number; taxi_type: string; month: string; row_groups: number };
  readonly output: { predictions: string; rows: number };
  readonly model: { uri: string; version: string; stale: boolean; intervals: boolean };
  readonly rows: { read: number; kept: number; dropped: DropCounts };
  readonly quality: { overall: ErrorSummary; by_day: DaySummary[] };
  readonly drift: DriftSummary;
  readonly performance: {
    /** Rows read per second, from opening the file to the complete predictions.parquet. */
    rows_per_second: number;
    seconds: number;
    stages_s: Record<string, number>;
    /** Peak resident memory of the whole process so far (worker thread included), MB. */
    peak_rss_mb: number;
    threads: number;
  };
}

export interface SummaryParts {
  input: InputFile;
  info: TripFileInfo;
  dir: string;
  outputRoot: string;
  model: ModelInfo;
  modelUri: string;
  threads: number;
  rows: { read: number; kept: number; written: number; dropped: DropCounts };
  stats: MonthStats;
  timings: Record<string, number>;
  seconds: number;
}

/** Peak resident set size of this process, MB (Linux reports maxRSS in KiB). */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function buildSummary(p: SummaryParts): ScoreSummary {
  const stages = Object.fromEntries(Object.entries(p.timings).filter(([label]) => label.endsWith(p.input.name)));
  return {
    format_version: 1,
    created_at: new Date().toISOString(),
    input: {
      source: p.input.source,
      file: p.input.name,
      bytes: p.input.bytes,
      taxi_type: p.info.taxiType,
      month: p.info.month,
      row_groups: p.info.rowGroups,
    },
    output: { predictions: relative(p.outputRoot, `${p.dir}/predictions.parquet`), rows: p.rows.written },
    model: { uri: p.modelUri, version: p.model.modelVersion, stale: p.model.stale === true, intervals: p.model.intervals },
    rows: { read: p.rows.read, kept: p.rows.kept, dropped: p.rows.dropped },
    quality: p.stats.quality(),
    drift: p.stats.drift(),
    performance: {
      rows_per_second: Math.round(p.rows.read / Math.max(p.seconds, 1e-3)),
      seconds: Number(p.seconds.toFixed(3)),
      stages_s: stages,
      peak_rss_mb: peakRssMb(),
      threads: p.threads,
    },
  };
}
