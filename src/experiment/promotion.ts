/**
 * The promotion gate (docs/experiments.md, "Offline: the promotion gate"): both versions loaded as the service
 * loads them, the challenger checked, both scored on the same trips, and a verdict. Moving the alias is
 * apart (alias.ts), so that the gate itself never changes a registry.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readModelDirectory } from '../registry/model-directory.js';
import type { ModelSource, ResolvedModel } from '../registry/model-source.js';
import type { ModelUri } from '../registry/model-uri.js';
import { loadOnnxModel, type LoadedModel } from '../model/onnx-model.js';
import {
  pairedBootstrap,
  predictAll,
  readEvaluationSet,
  segmentsOf,
  summarize,
  type BootstrapResult,
  type ErrorSummary,
  type EvaluationSet,
} from './offline-evaluation.js';
import { trainingPairsOf } from '../training/trip-source.js';

/** Largest |offline RMSE − the training record's RMSE| on the same file: the record's own parity tolerance. */
export const RECORD_RMSE_TOLERANCE = 1e-3;

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SegmentRow {
  readonly segment: string;
  readonly champion: ErrorSummary;
  readonly challenger: ErrorSummary;
}

export interface GateReport {
  readonly champion: ResolvedModel;
  readonly challenger: ResolvedModel;
  readonly files: EvaluationSet['files'];
  readonly checks: readonly Check[];
  readonly segments: readonly SegmentRow[];
  /** Why the seen/unseen segments are missing, when they are. */
  readonly segmentNote: string | undefined;
  readonly bootstrap: BootstrapResult;
  /** The interval lies wholly below 0: the challenger's RMSE is lower, on evidence. */
  readonly better: boolean;
}

/** The challenger failed a check: it must not be promoted (exit 4). */
export class GateRefusal extends Error {
  override readonly name = 'GateRefusal';
}

export interface GateOptions {
  readonly source: ModelSource;
  readonly challenger: ModelUri;
  readonly champion: ModelUri;
  readonly data: readonly string[];
  /** Where relative paths in training records (the training data) are resolved. */
  readonly cwd: string;
  readonly replicates: number;
  readonly seed: number;
}

interface Loaded {
  readonly resolved: ResolvedModel;
  readonly model: LoadedModel;
  readonly onnxSha256: string;
}

/** Resolve → read the directory → load: the contract (signature) check and the warm-up run happen in loadOnnxModel. */
async function load(source: ModelSource, uri: ModelUri): Promise<Loaded> {
  const resolved = await source.resolve(uri);
  const directory = await readModelDirectory(resolved.dir);
  const model = await loadOnnxModel(resolved, directory);
  const onnxSha256 = createHash('sha256')
    .update(await readFile(directory.onnxFile))
    .digest('hex');
  return { resolved, model, onnxSha256 };
}

interface RecordedData {
  sha256?: string;
  file?: string;
  source?: string;
}

interface RecordedMetrics {
  overall?: { rows?: number; rmse?: number };
}

/**
 * What the challenger must pass: it loads (signature matches the contract, warm-up finite), its ONNX file
 * is the one its training record describes, every prediction is finite, and on any evaluation file that
 * its training record also scored (same sha256), the RMSE here equals the recorded one.
 */
function checksFor(loaded: Loaded, set: EvaluationSet, predicted: Float32Array): Check[] {
  const training = loaded.model.info.training as
    | {
        model_onnx?: { sha256?: string };
        data?: { validation?: RecordedData; evaluation?: RecordedData[] };
        metrics?: { validation?: RecordedMetrics; evaluation?: Record<string, RecordedMetrics> };
      }
    | undefined;
  const checks: Check[] = [
    { name: 'signature', ok: true, detail: `inputs match the ${loaded.model.info.featureSet} feature set; output duration float32` },
    { name: 'warm-up', ok: true, detail: 'one inference at load, finite' },
  ];
  const recordedSha = training?.model_onnx?.sha256;
  checks.push(
    recordedSha === undefined
      ? { name: 'artifact', ok: false, detail: 'the training record has no model_onnx.sha256 to compare model.onnx with' }
      : {
          name: 'artifact',
          ok: recordedSha === loaded.onnxSha256,
          detail:
            recordedSha === loaded.onnxSha256
              ? 'model.onnx sha256 = training record'
              : `model.onnx sha256 ${loaded.onnxSha256} ≠ training record ${recordedSha}`,
        },
  );
  const bad = predicted.findIndex((v) => !Number.isFinite(v));
  checks.push({
    name: 'finite',
    ok: bad < 0,
    detail: bad < 0 ? `all ${predicted.length} predictions finite` : `trip ${bad} predicted ${predicted[bad]}`,
  });
  for (const file of set.files) {
    const recorded = recordedMetricsFor(training, file.sha256);
    if (recorded === undefined) continue;
    const include = new Uint8Array(set.trips.length);
    include.fill(1, file.start, file.end);
    const here = summarize(predicted, set.actual, include);
    const ok = here.n === recorded.rows && Math.abs(here.rmse - recorded.rmse) <= RECORD_RMSE_TOLERANCE;
    checks.push({
      name: 'parity',
      ok,
      detail: `${file.name} (${recorded.role} in the training record): RMSE ${here.rmse.toFixed(4)} on ${here.n} trips, recorded ${recorded.rmse.toFixed(4)} on ${recorded.rows}`,
    });
  }
  if (!checks.some((c) => c.name === 'parity')) {
    checks.push({ name: 'parity', ok: true, detail: 'not applicable: no evaluation file is one the training record scored' });
  }
  return checks;
}

function recordedMetricsFor(
  training:
    | {
        data?: { validation?: RecordedData; evaluation?: RecordedData[] };
        metrics?: { validation?: RecordedMetrics; evaluation?: Record<string, RecordedMetrics> };
      }
    | undefined,
  sha256: string,
): { role: string; rows: number; rmse: number } | undefined {
  const pick = (role: string, m: RecordedMetrics | undefined) =>
    m?.overall?.rows !== undefined && m.overall.rmse !== undefined ? { role, rows: m.overall.rows, rmse: m.overall.rmse } : undefined;
  if (training?.data?.validation?.sha256 === sha256) return pick('validation', training.metrics?.validation);
  const evaluation = training?.data?.evaluation?.find((d) => d.sha256 === sha256);
  if (evaluation?.file !== undefined) return pick('evaluation', training?.metrics?.evaluation?.[evaluation.file]);
  return undefined;
}

/** The pairs the challenger was trained on, when its training file is still where the record says (and unchanged). */
async function trainingPairs(loaded: Loaded, cwd: string): Promise<{ pairs?: Set<number>; note?: string }> {
  const train = (loaded.model.info.training as { data?: { train?: RecordedData } } | undefined)?.data?.train;
  if (train?.source === undefined) return { note: "the challenger's training record names no training file" };
  const path = /^https?:\/\//.test(train.source) ? train.source : resolve(cwd, train.source);
  try {
    const { pairs, sha256 } = await trainingPairsOf(path);
    if (train.sha256 !== undefined && sha256 !== train.sha256)
      return { note: `${path} is not the file the challenger was trained on (sha256 differs)` };
    return { pairs };
  } catch (err) {
    return { note: `training file ${path} unavailable (${(err as Error).message})` };
  }
}

export async function runGate(options: GateOptions): Promise<GateReport> {
  const set = await readEvaluationSet(options.data);
  const champion = await load(options.source, options.champion);
  let challenger: Loaded;
  try {
    challenger = await load(options.source, options.challenger);
  } catch (err) {
    await champion.model.release();
    // why: a challenger the service would refuse to load is refused here too, with the loader's reason.
    throw new GateRefusal(`challenger ${options.challenger.text} refused: ${(err as Error).message}`);
  }
  try {
    const [p0, p1] = [await predictAll(champion.model, set.trips), await predictAll(challenger.model, set.trips)];
    const checks = checksFor(challenger, set, p1);
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      throw new GateRefusal(
        `challenger ${challenger.model.info.modelVersion} refused: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      );
    }
    const { pairs, note } = await trainingPairs(challenger, options.cwd);
    const segments = segmentsOf(set, pairs).map(({ name, include }) => ({
      segment: name,
      champion: summarize(p0, set.actual, include),
      challenger: summarize(p1, set.actual, include),
    }));
    const bootstrap = pairedBootstrap(set.actual, p0, p1, options.replicates, options.seed);
    return {
      champion: champion.resolved,
      challenger: challenger.resolved,
      files: set.files,
      checks,
      segments,
      segmentNote: note,
      bootstrap,
      better: bootstrap.ci95[1] < 0,
    };
  } finally {
    await Promise.all([champion.model.release(), challenger.model.release()]);
  }
}
