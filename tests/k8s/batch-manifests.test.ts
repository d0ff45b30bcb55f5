import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { REPO_ROOT } from '../support/app.js';
import { childEnv } from '../support/child-env.js';

const read = (file: string) => parse(readFileSync(join(REPO_ROOT, 'k8s/batch', file), 'utf8'));
const cron = read('cronjob.yaml');
const backfill = read('backfill-job.yaml');
const podOf = (m: any) => (m.kind === 'CronJob' ? m.spec.jobTemplate.spec.template.spec : m.spec.template.spec);
const env = (m: any): Record<string, string> =>
  Object.fromEntries(podOf(m).containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));

/** Runs the container's shell command with `node` replaced by echo, so it prints the command it would exec. */
function commandFor(m: any, extraEnv: Record<string, string>): string {
  const [container] = podOf(m).containers;
  const script = String(container.args[0]).replace('exec node', 'exec echo node');
  return execFileSync(container.command[0], [container.command[1], script], {
    env: { ...childEnv(), ...env(m), ...extraEnv },
    encoding: 'utf8',
  }).trim();
}

describe('k8s batch manifests', () => {
  test('When validated against the Kubernetes schemas, then the CronJob and the Indexed Job pass', () => {
    expect(() => new CronJob(cron).validate()).not.toThrow();
    expect(() => new Job(backfill).validate()).not.toThrow();
    const broken = structuredClone(backfill);
    broken.spec.completions = 'three';
    expect(() => new Job(broken).validate()).toThrow(/completions/);
  });

  test('When the CronJob is read, then it runs on the 2nd at 03:00 New York time, one at a time, and scores the previous month with node dist/score.js', () => {
    expect(cron.spec).toMatchObject({ schedule: '0 3 2 * *', timeZone: 'America/New_York', concurrencyPolicy: 'Forbid' });
    const [year, month] = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit' })
      .format(new Date())
      .split('-')
      .map(Number);
    const previous = new Date(Date.UTC(year, month - 2, 1)).toISOString().slice(0, 7);

    const command = commandFor(cron, {});

    expect(command).toBe(
      `node --max-semi-space-size=4 dist/score.js --data https://d37ci6vzurychx.cloudfront.net/trip-data/yellow_tripdata_${previous}.parquet --output /predictions`,
    );
  });

  test('When the backfill Job runs index i, then it scores month i of BACKFILL_MONTHS, and completions equals the number of months', () => {
    const months = env(backfill).BACKFILL_MONTHS.split(' ');

    expect(backfill.spec).toMatchObject({ completionMode: 'Indexed', completions: months.length });
    expect(
      months.map(
        (_: string, i: number) => commandFor(backfill, { JOB_COMPLETION_INDEX: String(i) }).match(/tripdata_(\d{4}-\d{2})\.parquet/)![1],
      ),
    ).toEqual(months);
  });

  test('When both pods are read, then the environment is valid config, the model cache and output are volumes under a read-only root, and resources cover the measured peak', () => {
    for (const m of [cron, backfill]) {
      const pod = podOf(m);
      const [container] = pod.containers;
      const config = loadConfig(env(m));
      const mounts = Object.fromEntries(container.volumeMounts.map((v: { name: string; mountPath: string }) => [v.name, v.mountPath]));

      expect(pod.restartPolicy).toBe('Never');
      expect(mounts['model-cache']).toBe(config.MODEL_CACHE_DIR);
      expect(mounts.predictions).toBe('/predictions');
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(container.resources.requests).toEqual({ cpu: '2', memory: '512Mi' });
      expect(container.resources.limits.memory).toBe('1Gi');
    }
  });
});
