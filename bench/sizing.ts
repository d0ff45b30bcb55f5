/**
 * What a replica costs at a given load: the service as `npm start` runs it, driven by the open-loop
 * client at rising rates, with the CPU it used at each (from /proc) and the latency it gave. The
 * figures behind the Kubernetes CPU request and the autoscaler's target (docs/operations.md,
 * "Sizing"). A benchmark, not a test.
 *
 *   npm run build && npx tsx bench/sizing.ts
 *
 * SIZING_RATES (default 1000,2000,4000,8000,12000,16000) are the offered rates in req/s; WORKERS
 * (default 1) the service's workers; BENCH_DURATION_S (default 5) the length of each step;
 * BENCH_ROUNDS (default 3) how many times the rates are climbed (each figure is the median of its rounds).
 * The first step is 5 s without load: what an idle replica costs.
 */
import { freePort, serviceTarget, startTarget, stopTarget, waitUntilReady } from './lib/targets.js';
import { percentile, runOpenLoop, type OpenLoopResult } from './lib/open-loop.js';
import { runClosedLoop } from './lib/wrk.js';
import { treeDuring } from './lib/process-stats.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = Number(process.env.WORKERS ?? 1);
const RATES = (process.env.SIZING_RATES ?? '1000,2000,4000,8000,12000,16000').split(',').map(Number);
const body = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 });

interface Step {
  rate: number;
  achieved: number;
  p50Ms: number;
  p99Ms: number;
  /** How late the client itself sent, p99: the client's share of the tail. */
  sendLagP99Ms: number;
  errors: number;
  cpuCores: number;
  clientCores: number;
}

function toStep(rate: number, r: OpenLoopResult, cores: number): Step {
  return {
    rate,
    achieved: r.achievedRate,
    p50Ms: percentile(r.latenciesMs, 50),
    p99Ms: percentile(r.latenciesMs, 99),
    sendLagP99Ms: percentile(r.sendLagMs, 99),
    errors: r.errors,
    cpuCores: cores,
    clientCores: r.clientCpuMs / 1000 / DURATION_S,
  };
}

const fmt = (v: number, digits: number) => v.toFixed(digits);

/** The middle value (the lower middle one for an even count), as the bench's other figures pick it. */
const median = (values: number[]) => percentile(Float64Array.from(values).sort(), 50);

/** The table's columns after the offered rate: the figure of one round, its digits, its title. */
const COLUMNS: readonly [(s: Step) => number, number, string][] = [
  [(s) => s.achieved, 0, 'answered req/s'],
  [(s) => s.p50Ms, 2, 'p50 ms'],
  [(s) => s.p99Ms, 2, 'p99 ms'],
  [(s) => s.sendLagP99Ms, 2, 'client lag p99 ms'],
  [(s) => s.errors, 0, 'errors'],
  [(s) => s.cpuCores, 3, 'service CPU (cores)'],
  [(s) => (s.cpuCores * 1e6) / s.achieved, 0, 'CPU µs a request'],
  [(s) => s.clientCores, 3, 'client CPU (cores)'],
];

async function main(): Promise<void> {
  const target = serviceTarget(WORKERS, { soak: false });
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = startTarget(target, port);
  try {
    await waitUntilReady(target, child, port, spawnedAt, body);
    // why: a closed-loop warm-up first, so the JIT has compiled the hot path before the first step.
    await runClosedLoop({ port, path: '/predict', body, connections: 16, durationS: 2 });
    const idle = await treeDuring(child.pid!, () => new Promise((r) => setTimeout(r, 5000)));
    const idleMillicores = (idle.cpuSeconds / idle.wallSeconds) * 1000;
    console.log(`${target.name}: idle ${fmt(idleMillicores, 1)} millicores`);
    const steps = new Map<number, Step[]>(RATES.map((rate) => [rate, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const rate of RATES) {
        const { result, cpuSeconds, wallSeconds } = await treeDuring(child.pid!, () =>
          runOpenLoop({ port, path: '/predict', body, rate, durationS: DURATION_S }),
        );
        const step = toStep(rate, result, cpuSeconds / wallSeconds);
        steps.get(rate)!.push(step);
        console.log(
          `round ${round + 1}, ${rate} req/s offered: ${fmt(step.achieved, 0)} answered, p50 ${fmt(step.p50Ms, 2)} p99 ${fmt(step.p99Ms, 2)} ms ` +
            `(client lag p99 ${fmt(step.sendLagP99Ms, 2)}), errors ${step.errors}, service ${fmt(step.cpuCores, 3)} cores, client ${fmt(step.clientCores, 3)}`,
        );
      }
    }
    console.log(
      `\n${target.name}, open loop, ${DURATION_S} s a step; each figure the median of its ${ROUNDS} rounds; idle ${fmt(idleMillicores, 1)} millicores\n`,
    );
    console.log(`| offered req/s | ${COLUMNS.map(([, , title]) => title).join(' | ')} |`);
    console.log(`|---|${COLUMNS.map(() => '---|').join('')}`);
    for (const rate of RATES) {
      const rounds = steps.get(rate)!;
      // why each column its own median: the CPU a load costs and the tail it meets move apart from round to round.
      const cells = COLUMNS.map(([figure, digits]) => fmt(median(rounds.map(figure)), digits));
      console.log(`| ${rate} | ${cells.join(' | ')} |`);
    }
  } finally {
    await stopTarget(child);
  }
}

await main();
