/**
 * The one error type of the MLflow client, the artifact download and the model cache. `code` says what
 * the caller can do about it; `mlflowCode` keeps the server's own error code (or the one MLflow's
 * Python client infers for a non-JSON reply) for logs and for the few places that branch on it.
 */

export type RegistryErrorCode =
  /** The model, version, alias, stage, run, logged model or artifact does not exist. Not retried. */
  | 'not_found'
  /** 401/403: credentials missing or refused, or the server's Host-header check. Not retried. */
  | 'unauthorized'
  /** Network error, timeout, 429 or 5xx after every retry: the registry cannot be used right now. */
  | 'unavailable'
  /** The server refused the request as invalid (400 other than "not found"), e.g. a reserved alias. */
  | 'rejected'
  /** The model directory is not one we can serve: no onnx flavor, bad MLmodel, corrupt cache entry. */
  | 'invalid_model'
  /** A 2xx reply we cannot understand, or an HTTP error that fits none of the above. */
  | 'bad_response';

export interface RegistryErrorDetails {
  /** HTTP status of the last reply, when there was one. */
  status?: number;
  /** `error_code` from MLflow's JSON envelope, or ENDPOINT_NOT_FOUND / INTERNAL_ERROR for non-JSON 404/500. */
  mlflowCode?: string;
  /** The URL of the failing request, without credentials. */
  url?: string;
  cause?: unknown;
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  readonly status: number | undefined;
  readonly mlflowCode: string | undefined;
  readonly url: string | undefined;

  constructor(code: RegistryErrorCode, message: string, details: RegistryErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.mlflowCode = details.mlflowCode;
    this.url = details.url;
  }
}

export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}

/** The same failure (status, codes, URL kept; the original as cause) with a message naming what was asked. */
export function withMessage(err: RegistryError, code: RegistryErrorCode, message: string): RegistryError {
  return new RegistryError(code, message, { status: err.status, mlflowCode: err.mlflowCode, url: err.url, cause: err });
}

/** A RESOURCE_DOES_NOT_EXIST reply becomes `not_found` with a message naming what was asked for. */
export function notFoundAs(err: unknown, message: string): unknown {
  if (isRegistryError(err, 'not_found') && err.mlflowCode !== 'ENDPOINT_NOT_FOUND') return withMessage(err, 'not_found', message);
  return err;
}
