/**
 * A service as production composes it (createService) on a free port, serving the zones fixture
 * registry: version 2 has interval outputs and zones.json (as version 4), version 1 neither.
 */
import { loadConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/create-service.js';
import { createLogger } from '../../src/observability/logger.js';
import { REPO_ROOT } from './app.js';

export const ZONES_REGISTRY = 'file:tests/fixtures/registry-zones';
/** Monday 2021-03-01 08:30 in New York, for trips without a pickup time. */
export const FIXED_NOW = Date.UTC(2021, 2, 1, 13, 30);

export interface AppsService {
  base: string;
  service: Service;
  close(): Promise<void>;
}

export async function startAppsService(env: Record<string, string> = {}): Promise<AppsService> {
  const config = loadConfig({
    REGISTRY_URI: ZONES_REGISTRY,
    MODEL_URI: 'models:/taxi-ride-duration@production',
    MODEL_POLL_INTERVAL_S: '0',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    SHUTDOWN_DRAIN_MS: '0',
    ...env,
  });
  const logger = createLogger({ level: config.LOG_LEVEL, destination: { write: () => undefined } });
  const service = createService(config, logger, { cwd: REPO_ROOT, now: () => FIXED_NOW });
  const { port } = await service.start();
  return { base: `http://127.0.0.1:${port}`, service, close: async () => void (await service.stop('test')) };
}
