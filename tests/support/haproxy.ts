import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, stopAndClean, waitFor } from './ports.js';

export interface HaproxyHandle {
  port: number;
  /** HAProxy's view of each backend server: name → status (UP, DOWN, MAINT…), from its stats CSV. */
  serverStates(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts a real HAProxy on 127.0.0.1 in front of the given backend ports, with active health checks on
 * /readyz every 100 ms (down after 3 failures, up after 2 successes), as a production load balancer would.
 * why `timeout check 2s` and `fall 3`: without them the check's timeout is `inter` (100 ms), and on a
 * loaded machine one slow probe of the instance carrying all the traffic marks it DOWN while the other is
 * restarting: both DOWN, HAProxy answers 503 itself (seen with 1 s and fall 2 when two test suites shared
 * the 2 cores). A drain (SHUTDOWN_DRAIN_MS) of 1 s still leaves ample time after the 3 × 100 ms it takes
 * to see the 503 readiness.
 * why `retry-on conn-failure empty-response` + `redispatch`: a request that finds a backend's socket closed
 * before any byte was answered is safe to send to the other backend.
 */
export async function startHaproxy(haproxyBin: string, backendPorts: number[]): Promise<HaproxyHandle> {
  const port = await freePort();
  const statsPort = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'haproxy-'));
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    `global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout check 2s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
frontend stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
backend be
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 100ms fall 3 rise 2
${backendPorts.map((p, i) => `  server s${i + 1} 127.0.0.1:${p} check`).join('\n')}
`,
  );
  const child: ChildProcess = spawn(haproxyBin, ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const serverStates = async (): Promise<Record<string, string>> => {
    const res = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
    const lines = (await res.text()).split('\n');
    const header = lines[0].replace(/^# /, '').split(',');
    const states: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      if (cells[0] === 'be' && cells[1] !== 'BACKEND') states[cells[1]] = cells[header.indexOf('status')];
    }
    return states;
  };
  await waitFor(async () => (child.exitCode === null ? await serverStates() : Promise.reject(new Error(stderr))), 'haproxy to start');
  return {
    port,
    serverStates,
    stop: () => stopAndClean(child, dir),
  };
}
