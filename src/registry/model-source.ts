/**
 * The seam between "which model" (MODEL_URI) and "where are its files". A ModelSource turns a model
 * URI into a local MLflow Model directory; the embedded file registry is one source, a remote MLflow
 * registry with a download cache is another (create-source.ts picks one). The model loader only ever
 * sees the directory, and only ever a ModelLoadError (src/errors.ts) when a source fails.
 */
import type { ModelUri } from './model-uri.js';

/** A model version resolved to files on this machine. */
export interface ResolvedModel {
  readonly name: string;
  readonly version: string;
  /** The alias the URI named, when it named one. */
  readonly alias: string | undefined;
  /** The MLflow Model directory (holds MLmodel). */
  readonly dir: string;
  /** True when this is not what the URI names now but the newest version that loaded before (lastLoaded). */
  readonly stale?: boolean;
  /** Why a stale version serves, for GET /model and the logs. */
  readonly staleReason?: string;
}

export interface ModelSource {
  /** For logs: where this source looks, e.g. `file:/app/models`. */
  readonly description: string;
  /** Resolves the URI to a directory. Throws ModelLoadError('resolve' | 'artifact'), transient when the registry cannot be reached. */
  resolve(uri: ModelUri): Promise<ResolvedModel>;
  /**
   * Which version `uri` names right now, without downloading or loading anything (the alias poller).
   * Sources without it are not polled; POST /admin/reload still resolves them. Throws like resolve.
   */
  peek?(uri: ModelUri): Promise<{ readonly name: string; readonly version: string }>;
  /** Notes that `model` (resolved for `uri`) loaded and warmed up, so that lastLoaded may offer it later. */
  recordLoaded?(uri: ModelUri, model: { readonly name: string; readonly version: string }): Promise<void>;
  /**
   * The most recently loaded version for `uri` whose files are still intact, marked stale: what to serve
   * when what `uri` names cannot be loaded (docs/registries.md, "Model sources and the cache").
   */
  lastLoaded?(uri: ModelUri): Promise<ResolvedModel | undefined>;
}
