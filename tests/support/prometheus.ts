import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, stopAndClean, waitFor } from './ports.js';

export interface PrometheusHandle {
  port: number;
  /** Runs an instant query through Prometheus's HTTP API and returns its vector result. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/** Starts a real Prometheus on 127.0.0.1 scraping the given targets every second as job "taxi-ride-duration". */
export async function startPrometheus(prometheusBin: string, targetPorts: number[]): Promise<PrometheusHandle> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: taxi-ride-duration
    static_configs:
      - targets: [${targetPorts.map((p) => `"127.0.0.1:${p}"`).join(', ')}]
`,
  );
  const child: ChildProcess = spawn(
    prometheusBin,
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const query = async (promql: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      error?: string;
    };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data.result;
  };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      const res = await fetch(`http://127.0.0.1:${port}/-/ready`);
      return res.status === 200 ? true : undefined;
    },
    'prometheus to be ready',
    30_000,
  );
  return {
    port,
    query,
    stop: () => stopAndClean(child, dir),
  };
}
