/**
 * Moving a registered model's alias, the only registry write of the promotion gate: in the embedded
 * registry an atomic rewrite of aliases.json (written beside it, then renamed over it), in MLflow the
 * REST call that sets a registered model alias (an upsert). Running services see the move at their next
 * alias poll and hot-swap (docs/experiments.md, "Rollout").
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import { createMlflowClient } from '../mlflow/client.js';
import { readAliases, setAlias } from '../training/registry-writer.js';

export interface AliasMove {
  readonly name: string;
  readonly alias: string;
  readonly version: string;
}

/** Points `alias` at `version`; resolves with the version it pointed at before (undefined when unset). */
export async function moveAlias(
  config: Pick<Config, 'REGISTRY_URI' | 'MLFLOW'>,
  cwd: string,
  move: AliasMove,
): Promise<string | undefined> {
  const { name, alias, version } = move;
  if (config.REGISTRY_URI.startsWith('file:')) {
    const rest = config.REGISTRY_URI.slice('file:'.length);
    const root = rest.startsWith('//') ? fileURLToPath(config.REGISTRY_URI) : resolve(cwd, rest);
    const modelDir = join(root, name);
    const previous = (await readAliases(modelDir))[alias];
    await setAlias(modelDir, alias, version);
    return previous;
  }
  if (config.MLFLOW === undefined) throw new Error(`REGISTRY_URI ${config.REGISTRY_URI}: expected file:<dir> or an MLflow http(s):// URL`);
  const client = createMlflowClient(config.MLFLOW);
  const previous = await client.getModelVersionByAlias(name, alias).then(
    (v) => v.version,
    () => undefined,
  );
  await client.setModelVersionAlias(name, alias, version);
  return previous;
}
