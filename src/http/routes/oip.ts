/**
 * The Open Inference Protocol v2 (KServe, MLServer, Triton) over the predictor: server and model
 * metadata, health, and POST …/infer with the model's inputs as named tensors. Errors are the
 * protocol's `{"error": "<message>"}` (400 bad input, 404 unknown model or version) instead of
 * problem+json, for every /v2 route and every error (body, shedding, validation, 5xx).
 *
 * Versions: the served version answers; any other is 404 unless `predictorFor` knows it (the hook a
 * challenger model plugs into, so a client can address it by version).
 */
import type { Express, Request, Response } from 'express';
import { ServiceError, type FieldError, modelNotReady } from '../../errors.js';
import { INTERVAL_OUTPUTS, OUTPUT_NAME } from '../../features/model-contract.js';
import { checkTripRow } from '../../features/trip-rows.js';
import type { Trip } from '../../features/trip-inputs.js';
import type { Lifecycle } from '../../lifecycle.js';
import type { ModelInfo } from '../../model/onnx-model.js';
import type { Predictor } from '../../model/predictor.js';
import type { FrontEnd } from '../../app.js';
import { fieldErrorsOf, OipInferenceRequestSchema } from '../api-schema.js';
import { methodNotAllowed } from '../error-middleware.js';
import type { ErrorStyle } from '../problem.js';
import { contextOf } from '../request-context.js';
import { sendJson } from '../send-json.js';
import type { JsonHandler } from '../router.js';
import { minutesJson } from '../../features/minutes.js';
import { serverTiming } from './predict.js';

export const OIP_ROUTES = {
  server: '/v2',
  live: '/v2/health/live',
  ready: '/v2/health/ready',
  model: '/v2/models/:model',
  version: '/v2/models/:model/versions/:version',
  modelReady: '/v2/models/:model/ready',
  versionReady: '/v2/models/:model/versions/:version/ready',
  infer: '/v2/models/:model/infer',
  versionInfer: '/v2/models/:model/versions/:version/infer',
} as const;

export const OIP_SERVER_NAME = 'taxi-ride-duration';
export const OIP_SERVER_VERSION = '1.0.0';

/** `{"error": "<detail>: <field> <message>; …"}`; invalid input is 400 (the protocol has no 422). */
export const oipErrorStyle: ErrorStyle = (problem) => {
  const fields = problem.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
  return {
    status: problem.status === 422 ? 400 : problem.status,
    body: JSON.stringify({ error: fields === undefined ? problem.detail : `${problem.detail}: ${fields}` }),
  };
};

export interface OipDeps {
  predictor: Predictor;
  lifecycle: Lifecycle;
  maxBatch: number;
  now: () => number;
  /**
   * The predictor serving `version` of the model, when it is not the served one (a challenger), or
   * undefined: the version is not loaded (404).
   */
  predictorFor?: (version: string) => Predictor | undefined;
}

/** Tensor datatypes by input name: the model contract's int64/float32 as the protocol spells them. */
const INPUT_DATATYPES: Readonly<Record<string, string>> = {
  PULocationID: 'INT64',
  DOLocationID: 'INT64',
  trip_distance: 'FP32',
  pickup_hour: 'INT64',
  pickup_dow: 'INT64',
};
const REQUIRED = ['PULocationID', 'DOLocationID', 'trip_distance'];

const notFound = (message: string) => new ServiceError('not_found', message);
const invalid = (errors: FieldError[]) =>
  new ServiceError('invalid_input', `${errors.length} invalid input${errors.length === 1 ? '' : 's'}`, { errors: errors.slice(0, 100) });

function servedModel(predictor: Predictor): ModelInfo {
  const model = predictor.model;
  if (model === undefined) throw modelNotReady();
  return model;
}

/** The predictor for `name` and `version` (the served version when absent); 404 otherwise. */
function resolve(deps: OipDeps, name: string, version: string | undefined): Predictor {
  const model = servedModel(deps.predictor);
  if (name !== model.name) throw notFound(`model ${name} is not served here; the model is ${model.name}`);
  if (version === undefined || version === model.version) return deps.predictor;
  const other = deps.predictorFor?.(version);
  if (other?.model !== undefined) return other;
  throw notFound(`version ${version} of model ${name} is not loaded; version ${model.version} is`);
}

/** Data flattened row-major; undefined when nesting is deeper than the shape allows. */
function flatten(data: readonly unknown[], depth: number, out: unknown[]): boolean {
  for (const item of data) {
    if (Array.isArray(item)) {
      if (depth <= 1 || !flatten(item, depth - 1, out)) return false;
    } else out.push(item);
  }
  return true;
}

/** Validates the tensors and turns them into trips; throws 400 listing each problem. */
function parseInfer(
  body: unknown,
  maxBatch: number,
): { id: string | undefined; trips: Trip[]; outputs: string[] | undefined; rank: number } {
  const parsed = OipInferenceRequestSchema.safeParse(body);
  if (!parsed.success) throw invalid(fieldErrorsOf(parsed.error));
  const request = parsed.data;
  const errors: FieldError[] = [];
  const columns = new Map<string, unknown[]>();
  let rows: number | undefined;
  let rank = 2;
  for (const [i, input] of request.inputs.entries()) {
    const field = `inputs[${i}]`;
    const expected = INPUT_DATATYPES[input.name];
    if (expected === undefined) {
      errors.push({
        field: `${field}.name`,
        message: `${JSON.stringify(input.name)} is not an input of this model; inputs are ${Object.keys(INPUT_DATATYPES).join(', ')}`,
      });
      continue;
    }
    if (columns.has(input.name)) {
      errors.push({ field: `${field}.name`, message: `${input.name} is given twice` });
      continue;
    }
    if (input.datatype !== expected)
      errors.push({ field: `${field}.datatype`, message: `${input.name} must be ${expected}, got ${input.datatype}` });
    const { shape } = input;
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
      errors.push({ field: `${field}.shape`, message: `must be [n] or [n, 1] (one value per trip), got [${shape.join(', ')}]` });
      continue;
    }
    rank = shape.length;
    const n = shape[0];
    if (n > maxBatch) throw new ServiceError('batch_too_large', `the request has ${n} trips; the limit is ${maxBatch}`);
    const values: unknown[] = [];
    if (!flatten(input.data, shape.length, values) || values.length !== n) {
      errors.push({ field: `${field}.data`, message: `does not match shape [${shape.join(', ')}]: expected ${n} values` });
      continue;
    }
    if (rows !== undefined && n !== rows) errors.push({ field: `${field}.shape`, message: `has ${n} rows; the other inputs have ${rows}` });
    rows ??= n;
    columns.set(input.name, values);
  }
  for (const name of REQUIRED)
    if (!columns.has(name) && errors.length === 0) errors.push({ field: 'inputs', message: `input ${name} is missing` });
  if (columns.has('pickup_hour') !== columns.has('pickup_dow') && errors.length === 0) {
    errors.push({ field: 'inputs', message: 'pickup_hour and pickup_dow come together (or neither: now in New York)' });
  }
  if (rows === 0 && errors.length === 0) errors.push({ field: 'inputs', message: 'the tensors hold no trips' });
  const outputs = request.outputs?.map((o) => o.name);
  for (const name of outputs ?? []) {
    if (name !== OUTPUT_NAME && !(INTERVAL_OUTPUTS as readonly string[]).includes(name)) {
      errors.push({ field: 'outputs', message: `${JSON.stringify(name)} is not an output of this model` });
    }
  }
  if (errors.length > 0) throw invalid(errors);

  const trips: Trip[] = new Array(rows!);
  for (let r = 0; r < rows!; r++) {
    const row: Record<string, unknown> = {};
    for (const [name, values] of columns) row[name] = values[r];
    const before = errors.length;
    const trip = checkTripRow(row, '', errors);
    // why: name the failing element as the tensor's, e.g. PULocationID[1].
    for (let e = before; e < errors.length; e++) errors[e] = { field: `${errors[e].field}[${r}]`, message: errors[e].message };
    if (trip !== undefined) trips[r] = trip;
    if (errors.length >= 100) break;
  }
  if (errors.length > 0) throw invalid(errors);
  return { id: request.id, trips, outputs, rank };
}

export function oipInferHandler(deps: OipDeps): JsonHandler {
  return async (body, ctx, _req, params) => {
    const predictor = resolve(deps, params.model, params.version);
    let request: ReturnType<typeof parseInfer>;
    try {
      request = parseInfer(body, deps.maxBatch);
    } catch (err) {
      predictor.rejected();
      throw err;
    }
    const wantsInterval = request.outputs?.some((name) => name !== OUTPUT_NAME) ?? false;
    if (wantsInterval && predictor.model?.intervals === false) {
      predictor.rejected();
      throw new ServiceError(
        'invalid_input',
        `outputs duration_p10 and duration_p90 need a model with a prediction interval; ${predictor.model.modelVersion} has none`,
      );
    }
    const p = await predictor.predict(request.trips, deps.now());
    ctx.modelVersion = p.modelVersion;
    const n = request.trips.length;
    const shape = request.rank === 1 ? `[${n}]` : `[${n},1]`;
    const tensor = (name: string, data: Float32Array) => {
      const values = new Array<string>(n);
      for (let i = 0; i < n; i++) values[i] = minutesJson(data[i]);
      return `{"name":"${name}","shape":${shape},"datatype":"FP32","data":[${values.join(',')}]}`;
    };
    const available: [string, Float32Array | undefined][] = [
      [OUTPUT_NAME, p.duration],
      [INTERVAL_OUTPUTS[0], p.p10],
      [INTERVAL_OUTPUTS[1], p.p90],
    ];
    const outputs: string[] = [];
    for (const [name, data] of available) {
      if (request.outputs !== undefined && !request.outputs.includes(name)) continue;
      if (data === undefined) {
        if (request.outputs !== undefined)
          throw new ServiceError('invalid_input', `output ${name} needs a model with a prediction interval; ${p.modelVersion} has none`);
        continue;
      }
      outputs.push(tensor(name, data));
    }
    const slash = p.modelVersion.lastIndexOf('/');
    const text =
      `{"model_name":${JSON.stringify(p.modelVersion.slice(0, slash))},"model_version":${JSON.stringify(p.modelVersion.slice(slash + 1))},` +
      `"id":${JSON.stringify(request.id ?? ctx.requestId)},"outputs":[${outputs.join(',')}]}`;
    return { body: text, headers: { 'Server-Timing': serverTiming(p.inferenceMs, ctx.startedAt) } };
  };
}

function metadata(model: ModelInfo) {
  const tensor = (name: string, type: string) => ({ name, datatype: type === 'float32' ? 'FP32' : 'INT64', shape: [-1, 1] });
  return {
    name: model.name,
    versions: [model.version],
    platform: 'onnx_onnxv1',
    inputs: model.inputs.map((s) => tensor(s.name, s.type)),
    outputs: model.outputs.map((s) => tensor(s.name, s.type)),
  };
}

function sendValue(res: Response, status: number, body: unknown): void {
  sendJson(res, status, JSON.stringify(body));
}

export function oipFrontEnd(deps: OipDeps): FrontEnd {
  const infer = oipInferHandler(deps);
  const ready = () => !deps.lifecycle.draining && deps.predictor.model !== undefined;
  const modelOf = (req: Request) =>
    resolve(deps, String(req.params.model), req.params.version === undefined ? undefined : String(req.params.version)).model!;
  return {
    jsonRoutes: [
      { path: OIP_ROUTES.infer, handler: infer, errorStyle: oipErrorStyle },
      { path: OIP_ROUTES.versionInfer, handler: infer, errorStyle: oipErrorStyle },
    ],
    mount(app: Express) {
      // why: every /v2 answer, 404 and 405 included, speaks the protocol's error format.
      app.use('/v2', (_req, res, next) => {
        const ctx = contextOf(res);
        if (ctx !== undefined) ctx.errorStyle = oipErrorStyle;
        next();
      });
      const get = (path: string, handler: (req: Request, res: Response) => void) => {
        app.get(path, handler);
        app.all(path, methodNotAllowed('GET, HEAD'));
      };
      get(OIP_ROUTES.server, (_req, res) => sendValue(res, 200, { name: OIP_SERVER_NAME, version: OIP_SERVER_VERSION, extensions: [] }));
      get(OIP_ROUTES.live, (_req, res) => sendValue(res, 200, { live: true }));
      get(OIP_ROUTES.ready, (_req, res) => sendValue(res, ready() ? 200 : 503, { ready: ready() }));
      get(OIP_ROUTES.model, (req, res) => sendValue(res, 200, metadata(modelOf(req))));
      get(OIP_ROUTES.version, (req, res) => sendValue(res, 200, metadata(modelOf(req))));
      const modelReady = (req: Request, res: Response) => {
        const model = modelOf(req);
        const ok = !deps.lifecycle.draining;
        sendValue(res, ok ? 200 : 503, { name: model.name, ready: ok });
      };
      get(OIP_ROUTES.modelReady, modelReady);
      get(OIP_ROUTES.versionReady, modelReady);
    },
  };
}
