/**
 * `npm run promote -- --challenger <model URI> [--champion <model URI>] --data <TLC parquet> [--data …]
 * [--registry file:<dir> | <MLflow URL>] [--apply]` (docs/experiments.md, "Offline: the promotion gate").
 *
 * Exit codes: 0 = the challenger is better (the 95 % interval of the RMSE difference lies below 0; with
 * --apply the alias moved); 3 = not better, nothing changed; 4 = the challenger failed a check and is
 * refused; 2 = bad arguments; 1 = any other error. Errors are one line on stderr.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { parseModelUri, type ModelUri } from '../registry/model-uri.js';
import { createModelSource } from '../registry/create-source.js';
import { moveAlias } from './alias.js';
import { GateRefusal, runGate, type GateReport } from './promotion.js';

const USAGE =
  'usage: npm run promote -- --challenger <model URI> [--champion <model URI>] --data <TLC parquet> [--data …] ' +
  '[--registry file:models | http(s)://<mlflow>] [--alias production] [--bootstrap 1000] [--seed 42] [--apply]';

export const EXIT = { better: 0, error: 1, usage: 2, notBetter: 3, refused: 4 } as const;

class UsageError extends Error {}

export interface PromoteIo {
  env: Record<string, string | undefined>;
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function main(argv: string[], io: PromoteIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        challenger: { type: 'string' },
        champion: { type: 'string' },
        data: { type: 'string', multiple: true },
        registry: { type: 'string' },
        alias: { type: 'string', default: 'production' },
        bootstrap: { type: 'string', default: '1000' },
        seed: { type: 'string', default: '42' },
        apply: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      io.out(`${USAGE}\n`);
      return EXIT.better;
    }
    if (!values.challenger || !values.data?.length) throw new UsageError(`--challenger and --data are required (${USAGE})`);
    const replicates = wholeNumber('--bootstrap', values.bootstrap, 100, 100_000);
    const seed = wholeNumber('--seed', values.seed, 0, 2 ** 32 - 1);
    const challenger = parseUri('--challenger', values.challenger);
    const championText = values.champion ?? defaultChampion(challenger, values.alias);
    const champion = parseUri('--champion', championText);
    // why loadConfig: the same registry rules, MLflow variables and cache settings as the service.
    const config = loadConfig({ ...io.env, MODEL_URI: challenger.text, ...(values.registry ? { REGISTRY_URI: values.registry } : {}) });
    const source = createModelSource(config, { cwd: io.cwd });
    const report = await runGate({ source, challenger, champion, data: values.data, cwd: io.cwd, replicates, seed });
    io.out(renderReport(report));
    if (!report.better) {
      io.out(`verdict: NOT BETTER: the challenger's RMSE is not lower with 95 % confidence; nothing changed (exit ${EXIT.notBetter})\n`);
      return EXIT.notBetter;
    }
    if (!values.apply) {
      io.out(`verdict: BETTER: the challenger's RMSE is lower with 95 % confidence; run again with --apply to move @${values.alias}\n`);
      return EXIT.better;
    }
    const { name, version } = report.challenger;
    if (!['alias', 'version'].includes(challenger.kind))
      throw new UsageError(
        `--apply needs a registered challenger (models:/<name>/<version> or models:/<name>@<alias>), not ${challenger.text}`,
      );
    const previous = await moveAlias(config, io.cwd, { name, alias: values.alias, version });
    io.out(
      `verdict: BETTER: moved ${name}@${values.alias} from ${previous ?? '(unset)'} to version ${version} in ${config.REGISTRY_URI}; ` +
        `running services swap at their next poll (roll back: --challenger models:/${name}/${previous ?? '?'} --apply, or set the alias by hand)\n`,
    );
    return EXIT.better;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof GateRefusal) {
      io.err(`refused: ${err.message}\n`);
      return EXIT.refused;
    }
    io.err(`error: ${(err as Error).message.split('\n')[0]}\n`);
    return EXIT.error;
  }
}

function parseUri(flag: string, text: string): ModelUri {
  try {
    return parseModelUri(text);
  } catch (err) {
    throw new UsageError(`${flag} ${text}: ${(err as Error).message}`);
  }
}

function defaultChampion(challenger: ModelUri, alias: string): string {
  if (challenger.kind === 'alias' || challenger.kind === 'version' || challenger.kind === 'stage' || challenger.kind === 'latest')
    return `models:/${challenger.name}@${alias}`;
  throw new UsageError(`--champion is required when the challenger (${challenger.text}) is not a registered model`);
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${text}: expected a whole number from ${min} to ${max}`);
  return n;
}

const f = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const signed = (x: number, digits = 3) => (x > 0 ? `+${f(x, digits)}` : f(x, digits));

export function renderReport(r: GateReport): string {
  const ch = `${r.challenger.name}/${r.challenger.version}`;
  const cp = `${r.champion.name}/${r.champion.version}`;
  const lines = [
    `challenger ${ch} vs champion ${cp} on ${r.segments[0].champion.n} trips (${r.files.map((f) => f.name).join(', ')})`,
    'challenger checks:',
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(10)} ${c.detail}`),
    '',
    `${'segment'.padEnd(26)} ${'trips'.padStart(7)}   ${'champion RMSE   MAE    ME'.padStart(26)}   ${'challenger RMSE   MAE    ME'.padStart(28)}   ${'ΔRMSE'.padStart(7)}`,
    ...r.segments.map(
      ({ segment, champion: a, challenger: b }) =>
        `${segment.padEnd(26)} ${String(a.n).padStart(7)}   ${f(a.rmse).padStart(14)} ${f(a.mae).padStart(6)} ${signed(a.meanError).padStart(6)}   ${f(b.rmse).padStart(16)} ${f(b.mae).padStart(6)} ${signed(b.meanError).padStart(6)}   ${signed(b.rmse - a.rmse).padStart(7)}`,
    ),
    ...(r.segmentNote ? [`(no seen/unseen pair segments: ${r.segmentNote})`] : []),
    'ME = mean(actual − predicted), minutes; ΔRMSE = challenger − champion.',
    '',
    `RMSE difference (challenger − champion): ${signed(r.bootstrap.difference, 4)} min, 95 % paired bootstrap interval ` +
      `[${signed(r.bootstrap.ci95[0], 4)}, ${signed(r.bootstrap.ci95[1], 4)}] (${r.bootstrap.replicates} resamples, seed ${r.bootstrap.seed})`,
  ];
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}
