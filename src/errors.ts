/**
 * The service's one error type. Codes are domain words; the HTTP layer alone maps them to statuses
 * (src/http/problem.ts), so model and registry code never know about HTTP.
 */

export type ErrorCode =
  | 'malformed_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'batch_too_large'
  | 'invalid_input'
  | 'not_found'
  | 'method_not_allowed'
  | 'model_not_ready'
  | 'model_load_failed'
  | 'unauthorized'
  | 'reload_failed'
  | 'overloaded'
  | 'inference_failed'
  | 'feedback_unavailable'
  | 'internal';

/** One bad field: `field` is a path such as `trip_distance` or `trips[3].PULocationID`. */
export interface FieldError {
  field: string;
  message: string;
}

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ErrorCode;
  readonly errors: readonly FieldError[] | undefined;

  constructor(code: ErrorCode, message: string, options: { errors?: FieldError[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.errors = options.errors;
  }
}

/** Why a model could not be loaded; the `reason` label of `model_load_failures_total`. */
export type ModelLoadFailure = 'resolve' | 'artifact' | 'signature' | 'session' | 'warmup';

/**
 * Why a model source or the loader could not produce a servable model. Every model source throws only
 * this, so the model code never sees a registry's own error types: `reason` is the label counted in
 * model_load_failures_total; `transient` says waiting may fix it (the registry could not be reached).
 */
export class ModelLoadError extends ServiceError {
  readonly reason: ModelLoadFailure;
  readonly transient: boolean;
  /** `<name>/<version>` when the failure came after the URI was resolved to a version. */
  readonly modelVersion: string | undefined;

  constructor(reason: ModelLoadFailure, message: string, options: { cause?: unknown; transient?: boolean; modelVersion?: string } = {}) {
    super('model_load_failed', message, options);
    this.reason = reason;
    this.transient = options.transient ?? false;
    this.modelVersion = options.modelVersion;
  }
}

/** Errors worth waiting out: the registry could not be reached. */
export function isTransientLoadError(err: unknown): boolean {
  return err instanceof ModelLoadError && err.transient;
}

/** No model is loaded yet (503 over HTTP): every front end says it the same way. */
export function modelNotReady(): ServiceError {
  return new ServiceError('model_not_ready', 'no model is loaded yet; retry shortly');
}
