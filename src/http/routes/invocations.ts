/**
 * MLflow's scoring protocol (`mlflow models serve`) over the predictor: POST /invocations with
 * dataframe_split, dataframe_records, instances or inputs, answering `{"predictions": [...]}`, and
 * GET /ping (= /health): 200 when a model serves, 404 otherwise, as MLflow answers. Errors are
 * MLflow's `{"error_code", "message"}` with 400 for bad input, so a client written for an
 * MLflow-served model works unchanged (docs/api.md, "MLflow scoring protocol").
 */
import type { Express, Request, Response } from 'express';
import type { FrontEnd } from '../../app.js';
import { ServiceError, type FieldError } from '../../errors.js';
import type { Trip } from '../../features/trip-inputs.js';
import { checkTripRow } from '../../features/trip-rows.js';
import type { Lifecycle } from '../../lifecycle.js';
import type { Predictor } from '../../model/predictor.js';
import { fieldErrorsOf, InvocationsRequestSchema } from '../api-schema.js';
import { methodNotAllowed } from '../error-middleware.js';
import type { ErrorStyle } from '../problem.js';
import type { JsonHandler } from '../router.js';
import { minutesJson } from '../../features/minutes.js';
import { serverTiming } from './predict.js';

export const INVOCATIONS_ROUTES = { invocations: '/invocations', ping: '/ping', health: '/health' } as const;

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
type Format = (typeof FORMATS)[number];

/** MLflow's error codes by status (mlflow/protos/databricks.proto names). */
function errorCode(status: number): string {
  if (status === 404) return 'ENDPOINT_NOT_FOUND';
  if (status === 503) return 'TEMPORARILY_UNAVAILABLE';
  if (status >= 500) return 'INTERNAL_ERROR';
  return 'BAD_REQUEST';
}

export const mlflowErrorStyle: ErrorStyle = (problem) => {
  const status = problem.status === 422 ? 400 : problem.status;
  const fields = problem.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
  return {
    status,
    body: JSON.stringify({
      error_code: errorCode(status),
      message: fields === undefined ? problem.detail : `${problem.detail}: ${fields}`,
    }),
  };
};

const invalid = (errors: FieldError[]) =>
  new ServiceError('invalid_input', `${errors.length} invalid field${errors.length === 1 ? '' : 's'}`, { errors: errors.slice(0, 100) });

type Row = Record<string, unknown>;

const isRecord = (v: unknown): v is Row => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Columns `{name: [values]}` → rows; all columns must have the same length. */
function columnsToRows(columns: Record<string, unknown[]>, field: string): Row[] {
  const names = Object.keys(columns);
  const n = names.length === 0 ? 0 : columns[names[0]].length;
  for (const name of names) {
    if (columns[name].length !== n)
      throw invalid([{ field: `${field}.${name}`, message: `has ${columns[name].length} values; ${names[0]} has ${n}` }]);
  }
  const rows: Row[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Row = {};
    for (const name of names) row[name] = columns[name][i];
    rows[i] = row;
  }
  return rows;
}

/** The body's rows, whatever the format, and the field path of row `i` for error messages. */
function rowsOf(body: unknown, maxBatch: number): { rows: Row[]; path: (i: number) => string } {
  const given = isRecord(body) ? FORMATS.filter((f) => body[f] !== undefined) : [];
  if (given.length !== 1) {
    throw invalid([
      {
        field: '(body)',
        message: `must be a JSON object with exactly one of ${FORMATS.join(', ')}${given.length > 1 ? `; got ${given.join(' and ')}` : ''}`,
      },
    ]);
  }
  const format: Format = given[0];
  // why: count before the schema walks every row, so an oversized batch is refused cheaply.
  const raw = (body as Row)[format];
  const count =
    format === 'dataframe_split' ? (isRecord(raw) && Array.isArray(raw.data) ? raw.data.length : 0) : Array.isArray(raw) ? raw.length : 0;
  if (count > maxBatch) throw new ServiceError('batch_too_large', `the request has ${count} rows; the limit is ${maxBatch}`);
  const parsed = InvocationsRequestSchema.safeParse(body);
  if (!parsed.success) {
    // why: of the union's four alternatives, report the issues of the one the body chose.
    const issues = parsed.error.issues
      .flatMap((i) => (i.code === 'invalid_union' ? i.errors.flat() : [i]))
      .filter((i) => i.path[0] === format);
    throw invalid(issues.length > 0 ? fieldErrorsOf({ issues } as never) : fieldErrorsOf(parsed.error));
  }
  const request = parsed.data as Record<Format, unknown>;
  if (format === 'dataframe_split') {
    const { columns, data } = request.dataframe_split as { columns: string[]; data: unknown[][] };
    if (new Set(columns).size !== columns.length) throw invalid([{ field: 'dataframe_split.columns', message: 'names a column twice' }]);
    const rows = data.map((values, i) => {
      if (values.length !== columns.length) {
        throw invalid([{ field: `dataframe_split.data[${i}]`, message: `has ${values.length} values for ${columns.length} columns` }]);
      }
      const row: Row = {};
      for (let j = 0; j < columns.length; j++) row[columns[j]] = values[j];
      return row;
    });
    return { rows, path: (i) => `dataframe_split.data[${i}].` };
  }
  // why: rows as objects, or columns as lists (TF Serving's row and columnar formats); errors name the row.
  const value = request[format];
  const rows = Array.isArray(value) ? (value as Row[]) : columnsToRows(value as Record<string, unknown[]>, format);
  return { rows, path: (i) => `${format}[${i}].` };
}

function parseInvocations(body: unknown, maxBatch: number): Trip[] {
  const { rows, path } = rowsOf(body, maxBatch);
  if (rows.length === 0) throw invalid([{ field: '(body)', message: 'holds no rows; send 1 or more trips' }]);
  if (rows.length > maxBatch) throw new ServiceError('batch_too_large', `the request has ${rows.length} rows; the limit is ${maxBatch}`);
  const errors: FieldError[] = [];
  const trips: Trip[] = new Array(rows.length);
  for (let i = 0; i < rows.length && errors.length < 100; i++) {
    const trip = checkTripRow(rows[i], path(i), errors);
    if (trip !== undefined) trips[i] = trip;
  }
  if (errors.length > 0) throw invalid(errors);
  return trips;
}

export interface InvocationsDeps {
  predictor: Predictor;
  lifecycle: Lifecycle;
  maxBatch: number;
  now: () => number;
}

export function invocationsHandler({ predictor, maxBatch, now }: InvocationsDeps): JsonHandler {
  return async (body, ctx) => {
    let trips: Trip[];
    try {
      trips = parseInvocations(body, maxBatch);
    } catch (err) {
      predictor.rejected();
      throw err;
    }
    const p = await predictor.predict(trips, now());
    ctx.modelVersion = p.modelVersion;
    const n = trips.length;
    const parts = new Array<string>(n);
    const { p10, p90 } = p;
    for (let i = 0; i < n; i++) {
      // why: a multi-output model answers one record per row, as MLflow serializes a DataFrame result.
      parts[i] =
        p10 === undefined || p90 === undefined
          ? minutesJson(p.duration[i])
          : `{"duration":${minutesJson(p.duration[i])},"duration_p10":${minutesJson(p10[i])},"duration_p90":${minutesJson(p90[i])}}`;
    }
    return {
      body: `{"predictions":[${parts.join(',')}]}`,
      headers: { 'Server-Timing': serverTiming(p.inferenceMs, ctx.startedAt), 'X-Model-Version': p.modelVersion },
    };
  };
}

export function invocationsFrontEnd(deps: InvocationsDeps): FrontEnd {
  const ping = (_req: Request, res: Response) => {
    const ok = !deps.lifecycle.draining && deps.predictor.model !== undefined;
    // why: MLflow's scoring server answers "\n" with 200 when its model is loaded, 404 otherwise.
    res.statusCode = ok ? 200 : 404;
    res.setHeader('Content-Type', 'application/json');
    res.end('\n');
  };
  return {
    jsonRoutes: [{ path: INVOCATIONS_ROUTES.invocations, handler: invocationsHandler(deps), errorStyle: mlflowErrorStyle }],
    mount(app: Express) {
      for (const path of [INVOCATIONS_ROUTES.ping, INVOCATIONS_ROUTES.health]) {
        app.get(path, ping);
        app.all(path, methodNotAllowed('GET, HEAD'));
      }
    },
  };
}
