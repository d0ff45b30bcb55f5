import { describe, expect, test } from 'vitest';
import request from 'supertest';
import { createKinesisHandler, handler, type KinesisEvent, type PredictionEvent } from '../../src/stream/lambda.js';
import { buildApp, fakeModel, productionVersion } from '../support/app.js';
import { createPredictor } from '../../src/model/predictor.js';
import { ModelSlot } from '../../src/model/model-slot.js';
import { createMetrics } from '../../src/observability/metrics.js';

/** The course's Kinesis event fixture (06-best-practices), with a second record without a pickup time. */
function kinesisEvent(records: unknown[]): KinesisEvent {
  return {
    Records: records.map((r, i) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: '1',
        sequenceNumber: `4961125326386087127659616766543713622391800373286993${i}`,
        data: Buffer.from(typeof r === 'string' ? r : JSON.stringify(r)).toString('base64'),
        approximateArrivalTimestamp: 1654161514.132,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:4961125326386087127659616766543713622391800373286993${i}`,
      eventName: 'aws:kinesis:record',
      awsRegion: 'eu-west-1',
    })),
  } as KinesisEvent;
}

const COURSE_RECORD = { ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 256 };
const NOW = Date.UTC(2021, 2, 1, 13, 30);

describe('the Kinesis Lambda adapter', () => {
  test("When the course's event arrives, then it answers the course's predictions shape with what POST /predict answers", async () => {
    const { app, predictor } = await buildApp({ logLevel: 'silent', now: () => NOW });
    const published: PredictionEvent[][] = [];
    const handler = createKinesisHandler({ predictor, now: () => NOW, publish: async (p) => void published.push([...p]) });

    const result = await handler(
      kinesisEvent([COURSE_RECORD, { ride: { ...COURSE_RECORD.ride, pickup_datetime: '2021-01-04T08:30:00' }, ride_id: 'r-2' }]),
    );
    const http = await request(app)
      .post('/predict')
      .send({ trips: [COURSE_RECORD.ride, { ...COURSE_RECORD.ride, pickup_datetime: '2021-01-04T08:30:00' }] });

    const expected = (i: number, rideId: string | number) => {
      const { duration, duration_p10: p10, duration_p90: p90 } = http.body.predictions[i];
      const interval = p10 === undefined ? {} : { ride_duration_p10: p10, ride_duration_p90: p90 };
      return {
        model: 'ride_duration_prediction_model',
        version: http.body.model_version,
        prediction: { ride_duration: duration, ...interval, ride_id: rideId },
      };
    };
    expect(result).toEqual({ predictions: [expected(0, 256), expected(1, 'r-2')] });
    expect(published).toEqual([result.predictions]);
  });

  test('When records are not base64 JSON or fail validation, then they are listed in rejected with the error and the others are predicted', async () => {
    const { predictor } = await buildApp({ logLevel: 'silent' });
    const handler = createKinesisHandler({ predictor, now: () => NOW });

    const result = await handler(
      kinesisEvent([
        '{nope',
        { ride: { ...COURSE_RECORD.ride, PULocationID: 999 }, ride_id: 1 },
        COURSE_RECORD,
        { ride: COURSE_RECORD.ride },
      ]),
    );

    expect(result.predictions.map((p) => p.prediction.ride_id)).toEqual([256]);
    expect(result.rejected).toEqual([
      { sequence_number: expect.stringMatching(/0$/), error: 'kinesis.data: not base64-encoded JSON' },
      {
        sequence_number: expect.stringMatching(/1$/),
        error: expect.stringContaining('ride.PULocationID: must be an integer zone ID from 1 to 265'),
      },
      { sequence_number: expect.stringMatching(/3$/), error: 'ride_id: is required: each ride is predicted once per ride id' },
    ]);
  });

  test('When the model has a prediction interval, then each prediction carries ride_duration_p10 and ride_duration_p90', async () => {
    const slot = new ModelSlot();
    await slot.swap(
      fakeModel(
        async (_c, n) => ({
          duration: new Float32Array(n).fill(12.3456),
          p10: new Float32Array(n).fill(8),
          p90: new Float32Array(n).fill(20.5),
        }),
        {
          modelVersion: 'taxi-ride-duration/4',
          intervals: true,
        },
      ),
    );
    const handler = createKinesisHandler({
      predictor: createPredictor({ slot, metrics: createMetrics(undefined, { defaultMetrics: false }) }),
    });

    const result = await handler(kinesisEvent([COURSE_RECORD]));

    expect(result.predictions).toEqual([
      {
        model: 'ride_duration_prediction_model',
        version: 'taxi-ride-duration/4',
        prediction: { ride_duration: 12.346, ride_duration_p10: 8, ride_duration_p90: 20.5, ride_id: 256 },
      },
    ]);
  });

  test('When the Lambda entry point gets its first event, then it loads the production model from the embedded registry and predicts', async () => {
    const result = await handler(kinesisEvent([COURSE_RECORD]));

    expect(result.predictions).toEqual([
      {
        model: 'ride_duration_prediction_model',
        version: `taxi-ride-duration/${productionVersion()}`,
        prediction: expect.objectContaining({ ride_duration: expect.any(Number), ride_id: 256 }),
      },
    ]);
  });
});
