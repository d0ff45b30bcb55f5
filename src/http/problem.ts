/**
 * Error responses: application/problem+json (RFC 9457). This table is the only place where error
 * codes become HTTP statuses.
 */
import type { ServerResponse } from 'node:http';
import { contextOf } from './request-context.js';
import { sendJson } from './send-json.js';
import type { ErrorCode, FieldError } from '../errors.js';

const STATUS: Record<ErrorCode, number> = {
  malformed_json: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  batch_too_large: 413,
  invalid_input: 422,
  not_found: 404,
  method_not_allowed: 405,
  model_not_ready: 503,
  model_load_failed: 503,
  unauthorized: 401,
  reload_failed: 502,
  overloaded: 503,
  inference_failed: 500,
  feedback_unavailable: 503,
  internal: 500,
};

const TITLE: Record<ErrorCode, string> = {
  malformed_json: 'Malformed JSON',
  unsupported_media_type: 'Unsupported media type',
  payload_too_large: 'Payload too large',
  batch_too_large: 'Batch too large',
  invalid_input: 'Invalid input',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  model_not_ready: 'Model not ready',
  model_load_failed: 'Model not ready',
  unauthorized: 'Unauthorized',
  reload_failed: 'Model reload failed',
  overloaded: 'Service overloaded',
  inference_failed: 'Prediction failed',
  feedback_unavailable: 'Feedback store unavailable',
  internal: 'Internal server error',
};

export const PROBLEM_TYPE_PREFIX = 'urn:taxi-ride-duration:problem:';

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: readonly FieldError[];
}

/**
 * How a protocol that is not ours words its errors (the Open Inference Protocol's `{"error"}`,
 * MLflow's `{"error_code", "message"}`): the status and JSON body for a problem. Set per route on the
 * request context, so every error of that route — body reading, shedding, validation, 5xx — uses it.
 */
export type ErrorStyle = (problem: Problem) => { status: number; body: string };

/**
 * Sends the problem document (or the route's own error style); `detail` must be safe for clients
 * (never an internal message).
 */
export function sendProblem(res: ServerResponse, code: ErrorCode, detail: string, errors?: readonly FieldError[]): void {
  const status = STATUS[code];
  const problem: Problem = {
    type: PROBLEM_TYPE_PREFIX + code,
    title: TITLE[code],
    status,
    detail,
    instance: contextOf(res)?.requestId ?? '',
  };
  if (errors !== undefined && errors.length > 0) problem.errors = errors;
  const style = contextOf(res)?.errorStyle;
  if (style !== undefined) {
    const styled = style(problem);
    sendJson(res, styled.status, styled.body);
    return;
  }
  sendJson(res, status, JSON.stringify(problem), 'application/problem+json; charset=utf-8');
}
