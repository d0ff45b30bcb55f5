/**
 * `npm run replay -- --data <TLC parquet> --url <service> [--rate <req/s>] [--batch N] [--feedback]
 * [--limit N] …`: sends a month of real trips to a running service with their pickup time and a ride id
 * (`YYYY/MM_<row>`, reproducible), then their actual durations as feedback; checks what monitoring made
 * of them. The demo, the dashboard's load generator and the acceptance test (docs/monitoring.md).
 *
 * Trips are the ones `npm run evaluate` scores (the training filter: 1–60 minutes, valid zones), sent in
 * pickup order, a New York day at a time: predictions, then that day's feedback, then GET /monitoring,
 * whose drift window then holds exactly that day (with the default DRIFT_WINDOW_S of a day).
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { MAX_DISTANCE_MILES } from '../features/trip-schema.js';
import { filterTrips, type TripTable } from '../data/trip-filter.js';
import { readTripParquet } from '../data/trip-parquet.js';
import { loadSourceFile } from '../training/trip-source.js';

const USAGE =
  'usage: npm run replay -- --data <TLC parquet path|url> --url <service URL> [--rate <req/s>] [--batch N] [--feedback] [--limit N]\n' +
  '       [--feedback-url <URL>] [--min-distance <miles>] [--no-pickup-time] [--concurrency N] [--report <file.json>]';

export interface ReplayOptions {
  data: string;
  url: string;
  /** Where feedback goes (another replica sharing the prediction log); `url` by default. */
  feedbackUrl: string;
  /** Prediction requests per second at most; unlimited when undefined. */
  rate: number | undefined;
  batch: number;
  feedback: boolean;
  limit: number | undefined;
  /** Only trips longer than this (the shifted slice of docs/monitoring.md). */
  minDistance: number | undefined;
  /** Send pickup_datetime (default) or not: without it the service uses the arrival time. */
  pickupTime: boolean;
  concurrency: number;
  report: string | undefined;
}

export interface DayReport {
  /** New York date (YYYY-MM-DD), or "all" when trips were sent without pickup times. */
  readonly date: string;
  readonly trips: number;
  readonly window_trips: number;
  readonly verdict: boolean;
  readonly features: Record<string, { score: number | null; threshold: number; drifted: boolean; evidently_drifted: boolean }>;
}

export interface ReplaySummary {
  readonly trips: number;
  /** Trips of the file the API would reject (distance over its limit), not sent. */
  readonly skipped: number;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly feedback: { matched: number; unknown: number; duplicate: number };
  /** From the service's /metrics counters: sqrt(Σ squared error / matched), per model version. */
  readonly online: Record<string, { matched: number; rmse: number; mae: number; interval_coverage: number | null }>;
  readonly days: DayReport[];
}

export function parseReplayArgs(argv: string[]): ReplayOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      url: { type: 'string' },
      'feedback-url': { type: 'string' },
      rate: { type: 'string' },
      batch: { type: 'string' },
      feedback: { type: 'boolean' },
      limit: { type: 'string' },
      'min-distance': { type: 'string' },
      'no-pickup-time': { type: 'boolean' },
      concurrency: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new ReplayError(USAGE);
  if (!values.data || !values.url) throw new ReplayError(`--data and --url are required\n${USAGE}`);
  const positive = (name: string, text: string | undefined, integer: boolean): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!(n > 0) || (integer && !Number.isInteger(n)))
      throw new ReplayError(`--${name} must be a positive ${integer ? 'whole ' : ''}number, got ${text}`);
    return n;
  };
  const url = values.url.replace(/\/+$/, '');
  return {
    data: values.data,
    url,
    feedbackUrl: (values['feedback-url'] ?? url).replace(/\/+$/, ''),
    rate: positive('rate', values.rate, false),
    batch: positive('batch', values.batch, true) ?? 1,
    feedback: values.feedback === true,
    limit: positive('limit', values.limit, true),
    minDistance: values['min-distance'] === undefined ? undefined : Number(values['min-distance']),
    pickupTime: values['no-pickup-time'] !== true,
    concurrency: positive('concurrency', values.concurrency, true) ?? 8,
    report: values.report,
  };
}

export class ReplayError extends Error {}

/** `2021-01-04T08:30:00`: the file's naive New York wall-clock time, as the API takes it. */
function wallClock(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/**
 * Indices of the trips to send, in pickup order. Trips the API would reject (over MAX_DISTANCE_MILES: data
 * errors such as 102,620 miles) are skipped and counted, so one bad trip does not fail a whole batch.
 */
export function selectRows(table: TripTable, options: Pick<ReplayOptions, 'minDistance' | 'limit'>): { rows: number[]; skipped: number } {
  const rows: number[] = [];
  let skipped = 0;
  for (let i = 0; i < table.rows; i++) {
    if (table.tripDistance[i] > MAX_DISTANCE_MILES) skipped++;
    else if (options.minDistance === undefined || table.tripDistance[i] > options.minDistance) rows.push(i);
  }
  rows.sort((a, b) => table.pickupMs[a] - table.pickupMs[b] || a - b);
  return { rows: options.limit === undefined ? rows : rows.slice(0, options.limit), skipped };
}

/** What the replay reads from the service's answers (/feedback counts, /monitoring's drift). */
// biome-ignore lint/suspicious/noExplicitAny: a JSON answer of the service, read field by field where used.
type Json = any;

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Runs `tasks` with at most `concurrency` at once, starting at most `rate` per second. */
async function pace(tasks: (() => Promise<void>)[], concurrency: number, rate: number | undefined): Promise<void> {
  let next = 0;
  const started = performance.now();
  let launched = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      if (rate !== undefined) {
        const due = started + (launched++ * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}

/** Online accuracy per model version from Prometheus counters in /metrics text. */
export function onlineAccuracy(metricsText: string): ReplaySummary['online'] {
  const out: Record<string, { matched: number; sse: number; sae: number; inside: number; hits: number }> = {};
  const line = /^(\w+)\{([^}]*)\} (\S+)$/;
  for (const text of metricsText.split('\n')) {
    const m = line.exec(text);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const v = labels.model_version;
    if (v === undefined || v === 'unknown') continue;
    const o = (out[v] ??= { matched: 0, sse: 0, sae: 0, inside: 0, hits: 0 });
    const value = Number(m[3]);
    if (m[1] === 'prediction_feedback_total' && labels.outcome === 'matched') o.matched += value;
    else if (m[1] === 'prediction_squared_error_sum') o.sse += value;
    else if (m[1] === 'prediction_absolute_error_sum') o.sae += value;
    else if (m[1] === 'prediction_interval_hits_total') {
      o.hits += value;
      if (labels.side === 'inside') o.inside += value;
    }
  }
  return Object.fromEntries(
    Object.entries(out)
      .filter(([, o]) => o.matched > 0)
      .map(([v, o]) => [
        v,
        {
          matched: o.matched,
          rmse: Math.sqrt(o.sse / o.matched),
          mae: o.sae / o.matched,
          interval_coverage: o.hits > 0 ? o.inside / o.hits : null,
        },
      ]),
  );
}

/** Waits up to a minute for the service's /readyz (a model is loaded). */
async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new ReplayError(`${url}/readyz did not answer 200 within 60 s (last status ${status || 'no answer'})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runReplay(
  options: ReplayOptions,
  progress: (done: number, total: number) => void = () => {},
): Promise<ReplaySummary> {
  const file = await loadSourceFile(options.data);
  const { table } = filterTrips(await readTripParquet(file.bytes, options.data));
  const { rows, skipped } = selectRows(table, options);
  if (rows.length === 0) throw new ReplayError(`${options.data}: no trips to send after filtering`);
  const month = new Date(table.pickupMs[rows[0]]).toISOString().slice(0, 7).replace('-', '/');

  // New York days (the file's wall-clock dates); one group when pickup times are not sent.
  const groups: { date: string; rows: number[] }[] = [];
  for (const i of rows) {
    const date = options.pickupTime ? wallClock(table.pickupMs[i]).slice(0, 10) : 'all';
    if (groups.at(-1)?.date !== date) groups.push({ date, rows: [] });
    groups.at(-1)!.rows.push(i);
  }

  await waitUntilReady(options.url);
  const t0 = performance.now();
  let sent = 0;
  let requests = 0;
  let errors = 0;
  const feedback = { matched: 0, unknown: 0, duplicate: 0 };
  const days: DayReport[] = [];
  const rideId = (i: number) => `${month}_${i}`;
  for (const group of groups) {
    const tasks: (() => Promise<void>)[] = [];
    for (let k = 0; k < group.rows.length; k += options.batch) {
      const chunk = group.rows.slice(k, k + options.batch);
      const trips = chunk.map((i) => ({
        PULocationID: table.puLocationId[i],
        DOLocationID: table.doLocationId[i],
        trip_distance: table.tripDistance[i],
        ...(options.pickupTime ? { pickup_datetime: wallClock(table.pickupMs[i]) } : {}),
        ride_id: rideId(i),
      }));
      tasks.push(async () => {
        const r = await postJson(`${options.url}/predict`, options.batch === 1 ? trips[0] : { trips }).catch(() => ({
          status: 0,
          json: undefined,
        }));
        requests++;
        if (r.status !== 200) errors++;
        sent += chunk.length;
        progress(sent, rows.length);
      });
    }
    await pace(tasks, options.concurrency, options.rate);
    if (options.feedback) {
      const fb: (() => Promise<void>)[] = [];
      for (let k = 0; k < group.rows.length; k += 1000) {
        const items = group.rows.slice(k, k + 1000).map((i) => ({ ride_id: rideId(i), actual_duration: table.duration[i] }));
        fb.push(async () => {
          const r = await postJson(`${options.feedbackUrl}/feedback`, { feedback: items }).catch(() => ({ status: 0, json: undefined }));
          if (r.status !== 200) errors++;
          else for (const key of ['matched', 'unknown', 'duplicate'] as const) feedback[key] += r.json[key];
        });
      }
      await pace(fb, Math.min(options.concurrency, 4), undefined);
    }
    const monitoring = (await fetch(`${options.url}/monitoring`)
      .then((r) => (r.ok ? r.json() : undefined))
      .catch(() => undefined)) as { drift?: Json } | undefined;
    const drift = monitoring?.drift;
    if (drift?.available) {
      days.push({
        date: group.date,
        trips: group.rows.length,
        window_trips: drift.trips,
        verdict: drift.verdict,
        features: Object.fromEntries(
          drift.features.map((f: Json) => [
            f.feature,
            { score: f.score, threshold: f.threshold, drifted: f.drifted, evidently_drifted: f.evidently_drifted },
          ]),
        ),
      });
    }
  }
  const metricsText = await fetch(`${options.feedbackUrl}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  return {
    trips: sent,
    skipped,
    requests,
    errors,
    seconds: (performance.now() - t0) / 1000,
    feedback,
    online: onlineAccuracy(metricsText),
    days,
  };
}

export function summaryLine(s: ReplaySummary): string {
  const online = Object.entries(s.online)
    .map(
      ([v, o]) =>
        `${v}: RMSE ${o.rmse.toFixed(3)} MAE ${o.mae.toFixed(3)} over ${o.matched}${o.interval_coverage === null ? '' : `, interval coverage ${(100 * o.interval_coverage).toFixed(1)} %`}`,
    )
    .join('; ');
  const flagged =
    s.days.length === 0
      ? ''
      : `; drift: ${Object.keys(s.days[0].features)
          .map((f) => `${f} ${s.days.filter((d) => d.features[f]?.drifted).length}/${s.days.length}`)
          .join(', ')} windows flagged`;
  return (
    `replay: ${s.trips} trips (${s.skipped} skipped: over the API's distance limit) in ${s.requests} requests, ${s.errors} errors, ${s.seconds.toFixed(1)} s (${(s.requests / s.seconds).toFixed(0)} req/s); ` +
    `feedback matched ${s.feedback.matched}, unknown ${s.feedback.unknown}, duplicate ${s.feedback.duplicate}` +
    (online ? `; online (from /metrics) ${online}` : '') +
    flagged
  );
}

export async function main(argv: string[], stream: NodeJS.WriteStream = process.stderr): Promise<number> {
  try {
    const options = parseReplayArgs(argv);
    let bar: SingleBar | undefined;
    const tick = (done: number, total: number) => {
      if (!stream.isTTY) return;
      bar ??= new SingleBar({
        stream,
        format: 'replay [{bar}] {value}/{total} trips {eta}s left',
        fps: 5,
        clearOnComplete: true,
        hideCursor: true,
      });
      if (!bar.isActive) bar.start(total, done);
      else bar.update(done);
    };
    const summary = await runReplay(options, tick);
    bar?.stop();
    if (options.report) await writeFile(options.report, JSON.stringify(summary, null, 2));
    process.stdout.write(`${summaryLine(summary)}\n`);
    return summary.errors > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
