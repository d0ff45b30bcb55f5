/**
 * Run by swap-memory.system.test.ts as `node --expose-gc --import tsx` (gc() needs the flag): 50 hot swaps
 * between the two embedded models through a fake MLflow, printing RSS after GC as one JSON line.
 */
import { startFakeMlflow } from './mlflow-fake-server.js';
import { EMBEDDED_V1, EMBEDDED_V2, NAME, registerModelDir, startMlflowService, tempDir } from './mlflow-service.js';

const SWAPS = Number(process.argv[2] ?? 50);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const rss = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
};

const fake = await startFakeMlflow();
const cache = await tempDir('swap-memory-');
const v1 = await registerModelDir(fake, EMBEDDED_V1, ['production']);
const v2 = await registerModelDir(fake, EMBEDDED_V2);
const svc = startMlflowService(fake, { MODEL_CACHE_DIR: cache.path, LOG_LEVEL: 'warn' });
await svc.started;
const base = await svc.listen();
const predict = async () => {
  const res = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"PULocationID":10,"DOLocationID":50,"trip_distance":4}',
  });
  if (res.status !== 200) throw new Error(`predict: ${res.status}`);
  return ((await res.json()) as { model_version: string }).model_version;
};

const samples: { swaps: number; rssMb: number }[] = [{ swaps: 0, rssMb: await rss() }];
for (let i = 1; i <= SWAPS; i++) {
  fake.setAlias(NAME, 'production', i % 2 === 1 ? v2 : v1);
  const outcome = await svc.updater.reload('admin');
  if (outcome.status !== 'swapped') throw new Error(`swap ${i}: ${JSON.stringify(outcome)}`);
  for (let k = 0; k < 20; k++) await predict();
  if (i % 5 === 0) samples.push({ swaps: i, rssMb: await rss() });
}
const served = await predict();
await svc.close();
await fake.close();
await cache.remove();
process.stdout.write(`${JSON.stringify({ samples, served })}\n`);
