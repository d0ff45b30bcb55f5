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

export class ModelLoadError extends ServiceError {
  readonly reason: ModelLoadFailure;

  constructor(reason: ModelLoadFailure, message: string, options: { cause?: unknown } = {}) {
    super('model_load_failed', message, options);
    this.reason = reason;
  }
}
