/**
 * The HTTP API described as zod schemas: every route's request and response. They are the source of
 * GET /openapi.json (http/openapi.ts converts them with z.toJSONSchema), and the Open Inference
 * Protocol and MLflow adapters validate their request envelopes with them.
 *
 * POST /predict is the exception on the request side: its validation stays hand-written for speed
 * (features/trip-schema.ts) and `predictRequestSchema` describes the same rules; a property test
 * (tests/http/api-schema.test.ts) checks that the two accept the same bodies.
 */
import * as z from 'zod';
import { MAX_DISTANCE_MILES, MAX_ZONE, RIDE_ID_RULE, RIDE_ID_TEXT } from '../features/trip-schema.js';
import { pickupHourAndDow } from '../features/pickup-time.js';
import { ZoneSchema } from '../features/zones.js';

export interface SchemaMeta {
  [key: string]: unknown;
  id: string;
  description?: string;
  examples?: unknown[];
}

/**
 * Ids of the schemas of request bodies (converted as inputs) and of response bodies (as outputs).
 * The schemas themselves carry their id and examples in zod's global registry, beside the field
 * descriptions `.describe()` puts there, so one conversion sees both.
 */
export const requestSchemaIds = new Set<string>();
export const responseSchemaIds = new Set<string>();

function register(ids: Set<string>, schema: z.ZodType, meta: SchemaMeta): void {
  z.globalRegistry.add(schema, meta);
  ids.add(meta.id);
}
const requestSchema = (schema: z.ZodType, meta: SchemaMeta) => register(requestSchemaIds, schema, meta);
const responseSchema = (schema: z.ZodType, meta: SchemaMeta) => register(responseSchemaIds, schema, meta);

const zoneId = (what: string) => z.int().min(1).max(MAX_ZONE).describe(`${what}: a TLC zone ID, 1–${MAX_ZONE}`);
const miles = z.number().min(0).max(MAX_DISTANCE_MILES).describe(`trip distance in miles, 0–${MAX_DISTANCE_MILES}`);
/** A ride id as checkRideId (features/trip-schema.ts) accepts it. */
const rideIdValue = z.union([z.int().min(0), z.string().regex(RIDE_ID_TEXT)]);
const rideId = rideIdValue
  .nullable()
  .optional()
  .describe(`the caller's id for this ride, echoed back: ${RIDE_ID_RULE}; absent or null: the service makes one`);
const pickupDatetime = z
  .string()
  .max(64)
  .refine((text) => pickupHourAndDow(text) !== undefined, { message: 'must be an ISO 8601 date-time such as 2021-01-04T08:30:00' })
  .nullable()
  .optional()
  .describe('ISO 8601; with an offset or Z converted to New York time, without one New York wall-clock time; absent or null: now');

const EXAMPLE_TRIP = { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66, pickup_datetime: '2021-03-01T08:30:00' };

/** One trip of POST /predict; extra fields are ignored (the course's clients send whole TLC records). */
export const TripSchema = z.looseObject({
  PULocationID: zoneId('pickup zone'),
  DOLocationID: zoneId('drop-off zone'),
  trip_distance: miles,
  pickup_datetime: pickupDatetime,
  ride_id: rideId,
  // why: a body with `trips` is a batch, whatever else it holds.
  trips: z.never().optional(),
});
requestSchema(TripSchema, { id: 'Trip', description: 'One trip.', examples: [EXAMPLE_TRIP] });

export const PredictBatchSchema = z.looseObject({ trips: z.array(TripSchema).min(1) });
requestSchema(PredictBatchSchema, {
  id: 'PredictBatch',
  description: 'Up to MAX_BATCH trips (10,000 by default; more is 413 batch_too_large), answered in order from one model run.',
  examples: [{ trips: [EXAMPLE_TRIP, { PULocationID: 74, DOLocationID: 75, trip_distance: 1.1, ride_id: 'r-2' }] }],
});

/** POST /predict's body: one trip, or `{"trips": [...]}` of 1 to `maxBatch` trips. */
export function predictRequestSchema(maxBatch: number) {
  return z.union([TripSchema, z.looseObject({ trips: z.array(TripSchema).min(1).max(maxBatch) })]);
}

const duration = z.number().describe('predicted minutes, rounded to 0.001');
const interval = {
  duration_p10: z.number().optional().describe('lower bound of the 80 % interval, minutes (models with intervals)'),
  duration_p90: z.number().optional().describe('upper bound of the 80 % interval, minutes (models with intervals)'),
};
const modelVersion = z.string().describe('<name>/<version> of the model that answered');
const rideIdOut = z.union([z.int(), z.string()]).describe("the trip's ride_id, or one the service made");

export const PredictionSchema = z.strictObject({ duration, ...interval, ride_id: rideIdOut });
responseSchema(PredictionSchema, { id: 'Prediction' });
export const PredictResponseSchema = z.union([
  z.strictObject({ duration, ...interval, ride_id: rideIdOut, model_version: modelVersion }),
  z.strictObject({ predictions: z.array(PredictionSchema), model_version: modelVersion }),
]);
responseSchema(PredictResponseSchema, {
  id: 'PredictResponse',
  description: 'One prediction for one trip; a list, in request order, for a batch.',
  examples: [{ duration: 15.79, duration_p10: 11.2, duration_p90: 22.4, ride_id: 'a1b2c3d4-0', model_version: 'taxi-ride-duration/4' }],
});

export const ProblemSchema = z.strictObject({
  type: z.string().describe('urn:taxi-ride-duration:problem:<code>'),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  instance: z.string().describe('the request id (X-Request-ID)'),
  errors: z.array(z.strictObject({ field: z.string(), message: z.string() })).optional(),
});
responseSchema(ProblemSchema, {
  id: 'Problem',
  description: 'RFC 9457 problem details (application/problem+json).',
  examples: [
    {
      type: 'urn:taxi-ride-duration:problem:invalid_input',
      title: 'Invalid input',
      status: 422,
      detail: '1 invalid field',
      instance: '79031694-bf1a-410b-8c53-8df9b74a6838',
      errors: [{ field: 'PULocationID', message: 'must be an integer zone ID from 1 to 265, got 0' }],
    },
  ],
});

// ---- probes and metadata ----

export const HealthSchema = z.strictObject({ status: z.literal('ok') });
responseSchema(HealthSchema, { id: 'Health' });
export const ReadinessSchema = z.union([
  z.strictObject({ status: z.literal('ready'), model_version: z.string() }),
  z.strictObject({ status: z.enum(['not_ready', 'draining']), reason: z.string() }),
]);
responseSchema(ReadinessSchema, { id: 'Readiness' });
const tensorSpec = z.strictObject({ name: z.string(), type: z.string() });
export const ModelSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  alias: z.string().nullable(),
  model_version: z.string(),
  feature_set: z.enum(['base', 'time']),
  signature: z.strictObject({ inputs: z.array(tensorSpec), outputs: z.array(tensorSpec) }),
  metrics: z.unknown().describe('training.json metrics, or null'),
  trained_at: z.unknown(),
  loaded_at: z.string(),
  stale: z.boolean().describe('true when this is not what MODEL_URI names now but the newest version that loaded before'),
  stale_reason: z.string().nullable().describe('why a stale version serves; null when not stale'),
});
responseSchema(ModelSchema, { id: 'Model' });

export const ZonesResponseSchema = z.array(ZoneSchema);
responseSchema(ZonesResponseSchema, {
  id: 'Zones',
  description: 'Every zone the served model knows (its zones.json); lon/lat are null for zones without a shape (264, 265).',
  examples: [[{ id: 132, borough: 'Queens', zone: 'JFK Airport', service_zone: 'Airports', lon: -73.78653, lat: 40.64698 }]],
});

export const ReloadSchema = z.strictObject({
  status: z.enum(['swapped', 'unchanged']),
  model_version: z.string(),
  previous_model_version: z.string().nullable(),
});
responseSchema(ReloadSchema, { id: 'Reload' });

// ---- Monitoring and experiments (src/monitoring/, src/experiment/; docs/monitoring.md, docs/experiments.md) ----
const feedbackRideId = rideIdValue.describe(`the ride_id a prediction answered: ${RIDE_ID_RULE}`);
export const FeedbackItemSchema = z.looseObject({
  ride_id: feedbackRideId,
  actual_duration: z.number().gt(0).max(1440).describe("the ride's actual duration in minutes, > 0 and ≤ 1440"),
});
export const FeedbackRequestSchema = z.union([FeedbackItemSchema, z.looseObject({ feedback: z.array(FeedbackItemSchema).min(1) })]);
requestSchema(FeedbackRequestSchema, {
  id: 'FeedbackRequest',
  description: 'Ground truth for earlier predictions: one item, or {"feedback": [...]} of at most MAX_BATCH items.',
  examples: [{ ride_id: 256, actual_duration: 21.5 }],
});
export const FeedbackResponseSchema = z.strictObject({
  matched: z.int().min(0).describe('items matched to a stored prediction and counted'),
  unknown: z.int().min(0).describe('items with no stored prediction (never made, or expired)'),
  duplicate: z.int().min(0).describe('items for a ride already counted (never counted twice)'),
});
responseSchema(FeedbackResponseSchema, { id: 'FeedbackResponse', examples: [{ matched: 1, unknown: 0, duplicate: 0 }] });
export const MonitoringSchema = z.looseObject({
  model_version: z.string().nullable().describe('the served version'),
  drift: z.looseObject({}).describe("the drift window and each feature's method, score, threshold and drifted flag (docs/monitoring.md)"),
  accuracy: z
    .array(z.looseObject({ model_version: z.string() }))
    .describe('per model version: n, rmse, mae, mean_error (actual − predicted), training_rmse over matched feedback'),
  prediction_log: z.looseObject({}).describe('where predictions wait for their ground truth, and how many'),
});
responseSchema(MonitoringSchema, { id: 'Monitoring' });
export const ExperimentSchema = z
  .looseObject({
    mode: z.enum(['off', 'shadow', 'split']),
  })
  .describe(
    '"off" alone without a challenger; otherwise each arm\'s n, rmse, mae, mean_error (actual − predicted) and the comparison with its 95 % interval and verdict (docs/experiments.md)',
  );
responseSchema(ExperimentSchema, { id: 'Experiment', examples: [{ mode: 'off' }] });

// ---- Open Inference Protocol v2 ----

export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

// why unknown items: nesting is checked against `shape` by the adapter with a depth bound; a recursive
// schema would recurse as deep as a hostile body nests.
const tensorData = z.array(z.unknown()).describe('row-major values, flat or nested as the shape says');

export const OipTensorSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.int().min(0)).min(1).max(8),
  datatype: z.enum(OIP_DATATYPES),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: tensorData,
});
requestSchema(OipTensorSchema, { id: 'OipInputTensor' });

export const OipInferenceRequestSchema = z.object({
  id: z.string().max(128).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(OipTensorSchema).min(1).max(8),
  outputs: z
    .array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() }))
    .max(8)
    .optional(),
});
requestSchema(OipInferenceRequestSchema, {
  id: 'OipInferenceRequest',
  description:
    'Inputs PULocationID and DOLocationID (INT64), trip_distance (FP32), and pickup_hour (0–23) and pickup_dow (0 = Monday) as INT64 when the model has them (absent: now in New York). Shape [n] or [n, 1]; data flat or nested.',
  examples: [
    {
      id: 'req-1',
      inputs: [
        { name: 'PULocationID', shape: [2, 1], datatype: 'INT64', data: [130, 74] },
        { name: 'DOLocationID', shape: [2, 1], datatype: 'INT64', data: [205, 75] },
        { name: 'trip_distance', shape: [2, 1], datatype: 'FP32', data: [3.66, 1.1] },
        { name: 'pickup_hour', shape: [2, 1], datatype: 'INT64', data: [8, 8] },
        { name: 'pickup_dow', shape: [2, 1], datatype: 'INT64', data: [0, 0] },
      ],
    },
  ],
});

const oipOutput = z.strictObject({ name: z.string(), shape: z.array(z.int()), datatype: z.literal('FP32'), data: z.array(z.number()) });
export const OipInferenceResponseSchema = z.strictObject({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string(),
  outputs: z.array(oipOutput),
});
responseSchema(OipInferenceResponseSchema, {
  id: 'OipInferenceResponse',
  examples: [
    {
      model_name: 'taxi-ride-duration',
      model_version: '4',
      id: 'req-1',
      outputs: [{ name: 'duration', shape: [2, 1], datatype: 'FP32', data: [15.79, 8.319] }],
    },
  ],
});

const oipTensorMeta = z.strictObject({ name: z.string(), datatype: z.string(), shape: z.array(z.int()) });
export const OipModelMetadataSchema = z.strictObject({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(oipTensorMeta),
  outputs: z.array(oipTensorMeta),
});
responseSchema(OipModelMetadataSchema, { id: 'OipModelMetadata' });
export const OipServerMetadataSchema = z.strictObject({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });
responseSchema(OipServerMetadataSchema, { id: 'OipServerMetadata' });
export const OipLiveSchema = z.strictObject({ live: z.boolean() });
responseSchema(OipLiveSchema, { id: 'OipLive' });
export const OipReadySchema = z.strictObject({ ready: z.boolean() });
responseSchema(OipReadySchema, { id: 'OipReady' });
export const OipModelReadySchema = z.strictObject({ name: z.string(), ready: z.boolean() });
responseSchema(OipModelReadySchema, { id: 'OipModelReady' });
export const OipErrorSchema = z.strictObject({ error: z.string() });
responseSchema(OipErrorSchema, {
  id: 'OipError',
  examples: [{ error: 'PULocationID[1]: must be an integer zone ID from 1 to 265, got 0' }],
});

// ---- MLflow scoring protocol ----

const cell = z.union([z.number(), z.string(), z.boolean(), z.null()]);
const record = z.record(z.string(), z.unknown());
const columnar = z.record(z.string(), z.array(cell));
export const InvocationsRequestSchema = z.union([
  z.object({
    dataframe_split: z.object({
      columns: z.array(z.string()).min(1),
      data: z.array(z.array(cell)),
      index: z.array(z.unknown()).optional(),
    }),
    params: record.optional(),
  }),
  z.object({ dataframe_records: z.array(record), params: record.optional() }),
  z.object({ instances: z.union([z.array(record), columnar]), params: record.optional() }),
  z.object({ inputs: z.union([z.array(record), columnar]), params: record.optional() }),
]);
requestSchema(InvocationsRequestSchema, {
  id: 'InvocationsRequest',
  description:
    "Exactly one of dataframe_split, dataframe_records, instances or inputs (rows as objects, or columns as lists), as `mlflow models serve` takes them. Columns: the model signature's (PULocationID, DOLocationID, trip_distance, pickup_hour, pickup_dow) or /predict's trip fields (pickup_datetime, ride_id).",
  examples: [
    {
      dataframe_split: {
        columns: ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow'],
        data: [
          [130, 205, 3.66, 8, 0],
          [74, 75, 1.1, 8, 0],
        ],
      },
    },
  ],
});
export const InvocationsResponseSchema = z.strictObject({
  predictions: z.union([
    z.array(z.number()),
    z.array(z.strictObject({ duration: z.number(), duration_p10: z.number(), duration_p90: z.number() })),
  ]),
});
responseSchema(InvocationsResponseSchema, {
  id: 'InvocationsResponse',
  description: 'Minutes per row, in order; a model with intervals answers one record per row (duration, duration_p10, duration_p90).',
  examples: [{ predictions: [15.79, 8.319] }],
});
export const MlflowErrorSchema = z.strictObject({ error_code: z.string(), message: z.string() });
responseSchema(MlflowErrorSchema, {
  id: 'MlflowError',
  examples: [
    { error_code: 'BAD_REQUEST', message: 'dataframe_split.data[0]: PULocationID must be an integer zone ID from 1 to 265, got 0' },
  ],
});

/** zod issues → the service's field errors: `inputs[0].shape` and zod's message. */
export function fieldErrorsOf(error: z.ZodError, limit = 20): { field: string; message: string }[] {
  return error.issues.slice(0, limit).map((issue) => ({
    field:
      issue.path.reduce<string>(
        (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc === '' ? String(key) : `${acc}.${String(key)}`),
        '',
      ) || '(body)',
    message: issue.message,
  }));
}
