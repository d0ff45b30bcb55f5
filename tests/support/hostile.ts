/**
 * Generators of hostile request bodies and headers (fast-check), shared by the in-process and the
 * server-process tests. Bodies are built as JSON *text*, so they can hold what JSON.stringify never
 * writes: duplicate keys, 1e999, -0, bare NaN, `__proto__` keys, unbalanced brackets.
 */
import fc from 'fast-check';

const NUMBER_LITERALS = [
  '0',
  '-0',
  '1',
  '265',
  '266',
  '1e999',
  '-1e999',
  '1e-400',
  '5e-324',
  '1.7976931348623157e308',
  '9007199254740993',
  '10.5',
  '-3',
  '0.0',
  '1E2',
  '01',
  '.5',
  '1.',
  '+1',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
];
const STRING_LITERALS = [
  '"NaN"',
  '"Infinity"',
  '"-0"',
  '"10"',
  '""',
  '"2021-01-04T08:30:00Z"',
  '"2021-13-45T99:99:99"',
  '"\\u0000"',
  '"\\ud800"',
  '"\\"',
  '"a\\u2028b"',
];
const KEYS = [
  'PULocationID',
  'DOLocationID',
  'trip_distance',
  'pickup_datetime',
  'trips',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
];

const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 }));
const jsonString = fc.string({ maxLength: 30 }).map((s) => JSON.stringify(s));

/** JSON-ish text: mostly valid JSON, with invalid literals mixed in at the leaves. */
export const hostileJsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...NUMBER_LITERALS, ...STRING_LITERALS, 'true', 'false', 'null'),
    fc.double().map(String),
    fc.integer().map(String),
    jsonString,
    fc.array(tie('value'), { maxLength: 5 }).map((items) => `[${items.join(',')}]`),
    // a list of pairs, not a record: keys may repeat
    fc
      .array(fc.tuple(key, tie('value')), { maxLength: 6 })
      .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

/** A trip-shaped object whose three fields get hostile values, alone or in a batch. */
export const hostileTripText: fc.Arbitrary<string> = fc
  .tuple(
    hostileJsonText,
    hostileJsonText,
    hostileJsonText,
    fc.option(hostileJsonText),
    fc.array(fc.tuple(key, hostileJsonText), { maxLength: 3 }),
  )
  .map(([pu, dof, dist, when, extra]) => {
    const pairs = [
      ['PULocationID', pu],
      ['DOLocationID', dof],
      ['trip_distance', dist],
      ...(when === null ? [] : [['pickup_datetime', when]]),
      ...extra,
    ];
    return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  })
  .chain((trip) => fc.constantFrom(trip, `{"trips":[${trip}]}`, `{"trips":[${trip},${trip}]}`, `[${trip}]`));

/** Bytes that are not valid UTF-8, placed inside an otherwise plausible body. */
const INVALID_UTF8 = [[0xff], [0xfe, 0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0x80], [0xe2, 0x82]];
export const invalidUtf8Body: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...INVALID_UTF8), fc.constantFrom('key', 'string', 'outside', 'raw'))
  .map(([bad, where]) => {
    const b = Buffer.from(bad);
    const text = (s: string) => Buffer.from(s, 'latin1');
    if (where === 'key') return Buffer.concat([text('{"'), b, text('":1,"PULocationID":10,"DOLocationID":50,"trip_distance":4}')]);
    if (where === 'string')
      return Buffer.concat([text('{"PULocationID":10,"DOLocationID":50,"trip_distance":4,"pickup_datetime":"'), b, text('"}')]);
    if (where === 'outside') return Buffer.concat([text('{"PULocationID":10,'), b, text('"DOLocationID":50}')]);
    return b;
  });

export const randomBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a));

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });

export const contentType: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'APPLICATION/JSON',
    'application/json; charset=utf-8',
    'application/json;charset="UTF-8"',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/json; charset=',
    'application/json, text/plain',
    'application/vnd.api+json',
    'application/problem+json',
    'text/plain',
    'text/html',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    ';;;',
    'json',
  ),
  printable,
);

/** Extra request headers with odd but transmittable values (a client refuses CR, LF and NUL). */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'content-encoding': fc.oneof(fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'IDENTITY', 'gzip, identity'), printable),
    'x-request-id': fc.oneof(printable, fc.constant('a'.repeat(129)), fc.constant('../../etc/passwd'), fc.constant('<script>')),
    accept: fc.oneof(fc.constantFrom('*/*', 'text/html', 'application/xml', ''), printable),
    'accept-charset': printable,
    'x-forwarded-for': printable,
    'x-http-method-override': fc.constantFrom('DELETE', 'PUT', 'GET'),
    origin: fc.oneof(fc.constant('null'), printable),
    cookie: printable,
  },
  { requiredKeys: [] },
);

/** Deeply nested, huge and long bodies, each just under the 2 MB BODY_LIMIT unless said otherwise. */
export const HUGE_BODIES: Record<string, string> = {
  'arrays nested 500,000 deep': '['.repeat(500_000) + ']'.repeat(500_000),
  'objects nested 200,000 deep': `${'{"trips":'.repeat(200_000)}1${'}'.repeat(200_000)}`,
  'an unclosed nesting of 1,000,000 brackets': '['.repeat(1_000_000),
  'a batch of 10,001 trips': JSON.stringify({
    trips: Array.from({ length: 10_001 }, () => ({ PULocationID: 1, DOLocationID: 2, trip_distance: 1 })),
  }),
  'an array of 600,000 zeros as trips': `{"trips":[${'0,'.repeat(600_000)}0]}`,
  'a 1.9 MB pickup_datetime': JSON.stringify({
    PULocationID: 1,
    DOLocationID: 2,
    trip_distance: 1,
    pickup_datetime: 'x'.repeat(1_900_000),
  }),
  'a 1.9 MB key': `{"${'k'.repeat(1_900_000)}":1}`,
  'a number with 1,000,000 digits': `{"PULocationID":1${'0'.repeat(1_000_000)},"DOLocationID":2,"trip_distance":1}`,
  '3 MB of spaces (over the limit)': ' '.repeat(3_000_000),
};

/** Text of a response that would leak internals: a stack frame, a source path, the repository path. */
export function leaksInternals(text: string, repoRoot: string): boolean {
  return /\n\s+at |node_modules|\/src\/[\w/-]+\.[jt]s|\bdist\/[\w/-]+\.js/.test(text) || text.includes(repoRoot);
}

const OIP_NAMES = ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow', '__proto__', 'constructor', ''];
const OIP_TYPES = ['INT64', 'FP32', 'FP64', 'INT32', 'BYTES', 'BOOL', 'int64', ''];
const pairs = (entries: [string, string][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/** Open Inference Protocol requests whose tensors get hostile names, datatypes, shapes and data. */
export const hostileOipText: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...OIP_NAMES).map((n) => JSON.stringify(n)),
        hostileJsonText,
      ),
      fc.oneof(
        fc.constantFrom(...OIP_TYPES).map((t) => JSON.stringify(t)),
        hostileJsonText,
      ),
      fc.oneof(fc.constantFrom('[2]', '[2,1]', '[1,2]', '[0]', '[-1]', '[1e999]', '[2,1,1]', '[]', '[9007199254740993]'), hostileJsonText),
      fc.oneof(fc.constantFrom('[130,43]', '[[130],[43]]', '[[[1]]]', '[]', '[1.5,"a"]', '[null,true]'), hostileJsonText),
    ),
    { maxLength: 6 },
  )
  .chain((tensors) =>
    fc.tuple(fc.option(hostileJsonText), fc.option(hostileJsonText)).map(([id, outputs]) =>
      pairs([
        ...(id === null ? [] : ([['id', id]] as [string, string][])),
        [
          'inputs',
          `[${tensors
            .map(([name, type, shape, data]) =>
              pairs([
                ['name', name],
                ['datatype', type],
                ['shape', shape],
                ['data', data],
              ]),
            )
            .join(',')}]`,
        ],
        ...(outputs === null ? [] : ([['outputs', outputs]] as [string, string][])),
      ]),
    ),
  );

const MLFLOW_KEYS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs', 'params'];
const rowText = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...OIP_NAMES, 'pickup_datetime', 'ride_id'), key), hostileJsonText), { maxLength: 6 })
  .map((entries) => pairs(entries));

/** MLflow scoring requests: each format with hostile rows, columns and values, or formats mixed. */
export const hostileInvocationsText: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.array(
        fc.oneof(
          fc.constantFrom(...OIP_NAMES).map((n) => JSON.stringify(n)),
          hostileJsonText,
        ),
        { maxLength: 6 },
      ),
      fc.array(hostileJsonText, { maxLength: 4 }),
    )
    .map(([columns, data]) => `{"dataframe_split":{"columns":[${columns.join(',')}],"data":[${data.join(',')}]}}`),
  fc
    .tuple(fc.constantFrom('dataframe_records', 'instances', 'inputs'), fc.array(rowText, { maxLength: 4 }))
    .map(([k, rows]) => `{"${k}":[${rows.join(',')}]}`),
  fc
    .tuple(
      fc.constantFrom('instances', 'inputs'),
      fc.array(fc.tuple(fc.constantFrom(...OIP_NAMES), fc.array(hostileJsonText, { maxLength: 3 })), { maxLength: 5 }),
    )
    .map(([k, columns]) => `{"${k}":${pairs(columns.map(([c, values]) => [c, `[${values.join(',')}]`]))}}`),
  fc.array(fc.tuple(fc.constantFrom(...MLFLOW_KEYS), hostileJsonText), { maxLength: 4 }).map((entries) => pairs(entries)),
);
