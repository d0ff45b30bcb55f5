import { loadConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/create-service.js';
import { REPO_ROOT, capturingLogger, type LogLine } from '../support/app.js';

export interface MonitoredService {
  url: string;
  service: Service;
  logs: LogLine[];
  post(path: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string): Promise<{ status: number; body: any; text: string }>;
  close(): Promise<void>;
}

/** The service as production composes it (createService), embedded registry, on 127.0.0.1:0. */
export async function startMonitoredService(env: Record<string, string> = {}, now?: () => number): Promise<MonitoredService> {
  const config = loadConfig({
    MODEL_URI: 'models:/taxi-ride-duration/4',
    MODEL_POLL_INTERVAL_S: '0',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    SHUTDOWN_DRAIN_MS: '0',
    ...env,
  });
  const { logger, logs } = capturingLogger(config.LOG_LEVEL);
  const service = createService(config, logger, { cwd: REPO_ROOT, now });
  const { port } = await service.start();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    service,
    logs,
    async post(path, body) {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async get(path) {
      const res = await fetch(url + path);
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.status, body, text };
    },
    close: async () => void (await service.stop('test')),
  };
}

/** The value of one Prometheus sample in an exposition text, or 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
