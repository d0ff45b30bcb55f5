/**
 * The OpenAPI 3.1 document of the whole HTTP API, generated from the zod schemas in api-schema.ts
 * (z.toJSONSchema), so it cannot say something the validators do not. Built once per app;
 * tests/support/openapi.ts validates it, and the protocol and page tests check the responses they receive against it.
 */
import * as z from 'zod';
import { requestSchemaIds, responseSchemaIds } from './api-schema.js';

type Json = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string, description: string, headers?: Json): Json => ({
  description,
  content: { 'application/json': { schema: ref(id) } },
  ...(headers === undefined ? {} : { headers }),
});
const problem = (description: string): Json => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const oipError = (description: string): Json => json('OipError', description);
const mlflowError = (description: string): Json => json('MlflowError', description);
const html = (description: string): Json => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });

const REQUEST_ID = { description: "the caller's X-Request-ID when usable, else a new UUID", schema: { type: 'string' } };
const SERVER_TIMING = { description: 'inference;dur=<ms>, total;dur=<ms>', schema: { type: 'string' } };
const RETRY_AFTER = { description: 'seconds', schema: { type: 'string' } };
const requestIdParam = {
  name: 'X-Request-ID',
  in: 'header',
  required: false,
  schema: { type: 'string', pattern: '^[\\w.:@/+=-]{1,128}$' },
};

/** Errors every JSON POST route shares (body reading, limits, model state), in problem+json or the protocol's own form. */
function postErrors(error: (d: string) => Json, invalidStatus: '400' | '422'): Json {
  const errors: Json = {
    '400': error(invalidStatus === '400' ? 'malformed JSON, or an input breaks a rule (each field named)' : 'malformed JSON'),
    '413': error('body over BODY_LIMIT, or more than MAX_BATCH trips'),
    '415': error('Content-Type is not application/json in UTF-8, or the body is compressed'),
    '500': error('the model failed; logged with the request id'),
    '503': { ...error('no model loaded yet, or MAX_IN_FLIGHT requests in progress'), headers: { 'Retry-After': RETRY_AFTER } },
  };
  if (invalidStatus === '422') errors['422'] = error('a field breaks a rule; each bad field is listed in errors');
  return errors;
}

const MODEL_PARAMS = [{ name: 'model', in: 'path', required: true, schema: { type: 'string', examples: ['taxi-ride-duration'] } }];
const VERSION_PARAMS = [...MODEL_PARAMS, { name: 'version', in: 'path', required: true, schema: { type: 'string', examples: ['4'] } }];

function paths(): Json {
  const inferOperation = (params: Json[], versioned: boolean): Json => ({
    post: {
      tags: ['Open Inference Protocol v2'],
      operationId: versioned ? 'oipInferVersion' : 'oipInfer',
      summary: versioned ? 'Predict with a given version (the served one, or a loaded challenger)' : 'Predict trips given as named tensors',
      parameters: [...params, requestIdParam],
      requestBody: { required: true, content: { 'application/json': { schema: ref('OipInferenceRequest') } } },
      responses: {
        '200': json(
          'OipInferenceResponse',
          'duration (and duration_p10, duration_p90 when the model has an interval), shape [n, 1] or as the inputs; id echoed',
          {
            'X-Request-ID': REQUEST_ID,
            'Server-Timing': SERVER_TIMING,
          },
        ),
        '404': oipError('unknown model, or a version that is not loaded'),
        ...postErrors(oipError, '400'),
      },
    },
  });
  const oipGet = (operationId: string, summary: string, params: Json[], ok: Json, extra: Json = {}): Json => ({
    get: { tags: ['Open Inference Protocol v2'], operationId, summary, parameters: params, responses: { '200': ok, ...extra } },
  });
  const modelErrors = { '404': oipError('unknown model, or a version that is not loaded'), '503': oipError('no model loaded yet') };
  return {
    '/predict': {
      post: {
        tags: ['Predictions'],
        operationId: 'predict',
        summary: 'Predict the duration of one trip or a batch',
        parameters: [requestIdParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { oneOf: [ref('Trip'), ref('PredictBatch')] } } },
        },
        responses: {
          '200': json('PredictResponse', 'minutes per trip and the model version', {
            'X-Request-ID': REQUEST_ID,
            'Server-Timing': SERVER_TIMING,
          }),
          ...postErrors(problem, '422'),
        },
      },
    },
    '/feedback': {
      post: {
        tags: ['Monitoring'],
        operationId: 'feedback',
        summary: 'Send the actual duration of rides predicted earlier (ground truth)',
        parameters: [requestIdParam],
        requestBody: { required: true, content: { 'application/json': { schema: ref('FeedbackRequest') } } },
        responses: {
          '200': json('FeedbackResponse', 'how many items matched a stored prediction, were unknown or duplicates', {
            'X-Request-ID': REQUEST_ID,
          }),
          ...postErrors(problem, '422'),
        },
      },
    },
    '/monitoring': {
      get: {
        tags: ['Monitoring'],
        operationId: 'monitoring',
        summary: 'Online accuracy per model version and input/prediction drift against the training reference',
        responses: { '200': json('Monitoring', 'the drift window, each feature, accuracy per version') },
      },
    },
    '/experiment': {
      get: {
        tags: ['Monitoring'],
        operationId: 'experiment',
        summary: 'The champion/challenger experiment: each arm over matched feedback, and the verdict',
        responses: { '200': json('Experiment', '{"mode":"off"} without a challenger') },
      },
    },
    '/zones': {
      get: {
        tags: ['Predictions'],
        operationId: 'zones',
        summary: "The served model version's zone table (names, boroughs, centroids)",
        responses: {
          '200': json('Zones', 'every zone the model knows', {
            ETag: { schema: { type: 'string' } },
            'Cache-Control': { schema: { type: 'string', examples: ['public, max-age=300'] } },
            'X-Model-Version': { schema: { type: 'string' } },
          }),
          '304': { description: 'If-None-Match matched the ETag' },
          '404': problem('the served model version has no zone table (versions 1–3)'),
          '503': problem('no model loaded yet'),
        },
      },
    },
    '/model': {
      get: {
        tags: ['Operations'],
        operationId: 'model',
        summary: 'What is served: version, signature, training metrics',
        responses: { '200': json('Model', 'the served model'), '503': problem('no model loaded yet') },
      },
    },
    '/healthz': {
      get: {
        tags: ['Operations'],
        operationId: 'healthz',
        summary: 'Liveness',
        responses: { '200': json('Health', 'the process answers') },
      },
    },
    '/readyz': {
      get: {
        tags: ['Operations'],
        operationId: 'readyz',
        summary: 'Readiness: a warmed model and not draining',
        responses: {
          '200': json('Readiness', 'ready'),
          '503': json('Readiness', 'not ready, or draining', { 'Retry-After': RETRY_AFTER }),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['Operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/admin/reload': {
      post: {
        tags: ['Operations'],
        operationId: 'adminReload',
        summary: 'Hot-swap to the version MODEL_URI names now (only with ADMIN_TOKEN)',
        security: [{ bearer: [] }],
        responses: {
          '200': json('Reload', 'swapped or unchanged'),
          '401': problem('missing or wrong bearer token'),
          '404': problem('ADMIN_TOKEN is not set'),
          '502': problem('the new version was refused; the old one keeps serving'),
        },
      },
    },
    '/v2': oipGet('oipServer', 'Server metadata', [], json('OipServerMetadata', 'name, version, extensions')),
    '/v2/health/live': oipGet('oipLive', 'Liveness', [], json('OipLive', 'the process answers')),
    '/v2/health/ready': oipGet('oipReady', 'Readiness', [], json('OipReady', 'ready'), { '503': json('OipReady', 'not ready') }),
    '/v2/models/{model}': oipGet(
      'oipModel',
      'Model metadata from its signature',
      MODEL_PARAMS,
      json('OipModelMetadata', 'inputs, outputs, platform'),
      modelErrors,
    ),
    '/v2/models/{model}/versions/{version}': oipGet(
      'oipModelVersion',
      'Metadata of one version',
      VERSION_PARAMS,
      json('OipModelMetadata', 'inputs, outputs, platform'),
      modelErrors,
    ),
    '/v2/models/{model}/ready': oipGet('oipModelReady', 'Model readiness', MODEL_PARAMS, json('OipModelReady', 'ready'), {
      ...modelErrors,
      '503': json('OipModelReady', 'draining'),
    }),
    '/v2/models/{model}/versions/{version}/ready': oipGet(
      'oipModelVersionReady',
      'Version readiness',
      VERSION_PARAMS,
      json('OipModelReady', 'ready'),
      {
        ...modelErrors,
        '503': json('OipModelReady', 'draining'),
      },
    ),
    '/v2/models/{model}/infer': inferOperation(MODEL_PARAMS, false),
    '/v2/models/{model}/versions/{version}/infer': inferOperation(VERSION_PARAMS, true),
    '/invocations': {
      post: {
        tags: ['MLflow scoring protocol'],
        operationId: 'invocations',
        summary: 'Predict rows given as mlflow models serve takes them',
        parameters: [requestIdParam],
        requestBody: { required: true, content: { 'application/json': { schema: ref('InvocationsRequest') } } },
        responses: {
          '200': json('InvocationsResponse', 'one prediction per row', {
            'X-Model-Version': { schema: { type: 'string' } },
            'X-Request-ID': REQUEST_ID,
            'Server-Timing': SERVER_TIMING,
          }),
          ...postErrors(mlflowError, '400'),
        },
      },
    },
    '/ping': {
      get: {
        tags: ['MLflow scoring protocol'],
        operationId: 'ping',
        summary: 'MLflow health: 200 when a model serves',
        responses: {
          '200': { description: 'a model serves (body: a newline)' },
          '404': { description: 'no model loaded, or draining (body: a newline)' },
        },
      },
    },
    '/health': {
      get: {
        tags: ['MLflow scoring protocol'],
        operationId: 'health',
        summary: 'Same as /ping',
        responses: { '200': { description: 'a model serves' }, '404': { description: 'no model loaded, or draining' } },
      },
    },
    '/': {
      get: {
        tags: ['Pages'],
        operationId: 'demo',
        summary: 'The demo page (off with DEMO_PAGE=false)',
        responses: { '200': html('the page'), '404': problem('DEMO_PAGE=false') },
      },
    },
    '/docs': { get: { tags: ['Pages'], operationId: 'docs', summary: 'This document, rendered', responses: { '200': html('the page') } } },
    '/openapi.json': {
      get: {
        tags: ['Pages'],
        operationId: 'openapi',
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  };
}

/** The schemas named by `ids` → `{id: JSON Schema}`, with references into components/schemas. */
function componentSchemas(ids: ReadonlySet<string>, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }) as {
    schemas: Record<string, Json>;
  };
  const picked: Record<string, Json> = {};
  for (const id of ids) {
    const { $schema: _schema, $id: _id, ...schema } = schemas[id];
    picked[id] = schema;
  }
  return picked;
}

export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'NYC taxi ride duration',
      version: '1.0.0',
      summary: 'How long will this ride take? Predictions from the served model, in three protocols.',
      description:
        'POST /predict is the service\'s own protocol; the Open Inference Protocol v2 (/v2/…) and MLflow\'s scoring protocol (/invocations) answer the same predictions for clients written for KServe, Triton, MLServer or `mlflow models serve`. Errors are problem+json, except on /v2 ({"error"}) and /invocations ({"error_code", "message"}), as those protocols define. The manual: docs/api.md.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'Predictions' },
      { name: 'Open Inference Protocol v2' },
      { name: 'MLflow scoring protocol' },
      { name: 'Monitoring' },
      { name: 'Operations' },
      { name: 'Pages' },
    ],
    paths: paths(),
    components: {
      schemas: { ...componentSchemas(requestSchemaIds, 'input'), ...componentSchemas(responseSchemaIds, 'output') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
    },
  };
}
